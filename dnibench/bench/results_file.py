"""Reading ``results.csv`` back: the one loader every consumer of a run uses.

The session appends tidy rows to ``results.csv`` as each benchmark ends; the
reports, the regression gate, the pytest-benchmark exporter and the target
tables all start from that file. A run directory is user input (a path typed
on a command line, a baseline committed long ago), so every way it can be
wrong is a :class:`~dnibench.errors.UserError` naming the directory or file
and the fix, worded the same wherever it is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.errors import UserError

RESULT_COLUMNS = (
    "benchmark",
    "mode",
    "stages",
    "microbatches",
    "metric",
    "stage",
    "repeat",
    "value",
    "unit",
)
"""The tidy columns of ``results.csv``, defined once: written by the session, checked here."""

RERUN = "re-run the benchmarks into a fresh --out directory, or point at another run directory"
_WHICH = "pass the --out directory of a finished `dnibench run` or `dnibench bench`"
_INTEGER_COLUMNS = ("stages", "microbatches", "stage", "repeat")
_TEXT_COLUMNS = ("benchmark", "mode", "metric", "unit")


def check_run_dir(run_dir: Path) -> Path:
    """``run_dir`` as a Path, or a UserError if it is missing or not a directory."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise UserError(f"run directory {run_dir} does not exist; check the path, or {_WHICH}")
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is a file, not a run directory; give the folder holding it")
    return run_dir


def read_results(run_dir: Path | str) -> pd.DataFrame:
    """The tidy rows of ``run_dir/results.csv``, validated and typed.

    Integer columns come back as ``int``, ``value`` as ``float`` (NaN kept: a
    metric that did not apply), text columns as ``str`` with missing entries
    as ``""`` (the session's calibration row has no mode). Extra columns are
    dropped so every consumer sees the same frame.
    """
    run_dir = check_run_dir(Path(run_dir))
    path = run_dir / "results.csv"
    if not path.is_file():
        raise UserError(
            f"{run_dir} holds no results.csv: it is not a run directory, or no benchmark in it "
            f"finished (see its status.csv); {_WHICH}"
        )
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty: no benchmark finished; {RERUN}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        message = f"{path} is not a readable CSV ({reason}): it is corrupt; {RERUN}"
        raise UserError(message) from None
    missing = [column for column in RESULT_COLUMNS if column not in frame.columns]
    if missing:
        raise UserError(
            f"{path} lacks the columns {', '.join(missing)}; it is not a dnibench results file "
            f"(expected {', '.join(RESULT_COLUMNS)}); {_WHICH}"
        )
    if frame.empty:
        raise UserError(f"{path} holds no rows: no benchmark finished; {RERUN}")
    frame = frame.loc[:, list(RESULT_COLUMNS)].copy()
    for column in (*_INTEGER_COLUMNS, "value"):
        frame[column] = _numeric_column(frame, column, path)
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def _numeric_column(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """``column`` parsed as numbers; text (or a fraction where an integer belongs) is corruption."""
    parsed = pd.to_numeric(frame[column], errors="coerce")
    bad = parsed.isna() & frame[column].notna()
    integer = column in _INTEGER_COLUMNS
    if integer:
        bad |= parsed.isna() | (parsed != parsed.round())
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # the header is line 1
        kind = "an integer" if integer else "a number"
        raise UserError(
            f"{path} line {line}: {column} {str(frame[column].iloc[line - 2])!r} is not {kind}; "
            f"the file is corrupt, {RERUN}"
        )
    return parsed.astype(int) if integer else parsed.astype(float)


__all__ = ["RERUN", "RESULT_COLUMNS", "check_run_dir", "read_results"]
