"""The one reader of run directories: typed entries, one clear error per way a folder is wrong.

Reports, the gate, the simulator, the exporter, ``compare`` and ``check`` all
start here. A run directory is user input (a path typed on a command line, a
baseline committed long ago), so every fault is a
:class:`~dnibench.errors.UserError` naming the file and the fix, worded the
same wherever it is read, and every committed run stays readable:

- ``config.json`` without ``format_version`` is legacy v0. Its benchmarks are
  ``{"benchmarks": [...]}`` or, older still, a bare list of pipeline specs.
- Traces are read as ``.json.gz`` and as legacy ``.json``.
- A folder is a benchmark run (it holds ``results.csv``) or a derived report:
  a simulation, a cross-check or a gate study. Derived reports declare
  ``"derived": KIND`` in their ``config.json`` (the simulator, the cross-check
  and tools/gate_study.sh write it); the committed ones written before that
  marker are recognised by their config's shape (a simulation's has
  ``settings`` and ``model_costs``, a cross-check's ``settings`` and
  ``stragglers``) or, for the committed gate study (which has no config), by
  its ``rates_merged.csv``. Anything else is one UserError.

Layout (see :mod:`dnibench.rundir.layout`)::

{layout}
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.errors import UserError
from dnibench.rundir import layout
from dnibench.rundir.config import (
    BenchmarkEntry,
    JsonValue,
    Ratio,
    RunConfig,
    Spec,
    parse_config,
    parse_ratios,
)
from dnibench.rundir.layout import (
    CONFIG,
    CORPUS,
    CROSSCHECK,
    CURVE_CLOCK_COLUMNS,
    CURVE_COLUMNS,
    CURVES,
    FINGERPRINT,
    GATE_STUDY,
    GATE_STUDY_MARKER,
    GPU_FACTS,
    LEGACY_TRACE_SUFFIX,
    RESULT_COLUMNS,
    RESULTS,
    RNN_CURVES,
    SIMULATION,
    STATUS,
    STATUS_COLUMNS,
    STATUS_REQUIRED,
    TRACE_SUFFIX,
    TRACES,
)

__doc__ = (__doc__ or "").replace("{layout}", layout.describe_layout())


BENCHMARK = "benchmark"
"""What :func:`run_kind` calls a benchmark run (the other answers are derived kinds)."""

RERUN = "re-run the benchmarks into a fresh --out directory, or point at another run directory"
WHICH = "pass the --out directory of a finished `dnibench run` or `dnibench bench`"
_INTEGER_COLUMNS = ("stages", "microbatches", "stage", "repeat")
_TEXT_COLUMNS = ("benchmark", "mode", "metric", "unit")

#: Metrics only a pipeline benchmark records (per stage or whole pipeline).
PIPELINE_METRICS = frozenset({"pipeline_efficiency", "busy_fraction", "ideal_throughput"})
#: Metrics only a training benchmark records.
TRAINING_METRICS = frozenset({"test_accuracy", "samples_to_target", "seconds_to_target"})
#: Metrics only a recurrent benchmark (rnn / copy kinds) records.
RECURRENT_METRICS = frozenset({"bpc", "longest_solved"})
_RECURRENT_KINDS = ("rnn", "copy")


def _read_json(path: Path) -> JsonValue:
    try:
        loaded: JsonValue = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(
            f"{path} is not readable JSON ({err}); restore it from the run or delete it "
            f"(run directory {path.parent})"
        ) from None
    return loaded


def has_config(run_dir: Path) -> bool:
    """Whether the folder holds a config.json at all."""
    return (Path(run_dir) / CONFIG).is_file()


def read_config(run_dir: Path | str) -> RunConfig:
    """The run's config.json, typed; an empty v0 config when the file is absent.

    A file that is not JSON is a UserError: a damaged config would otherwise
    silently change warm-up lengths, batch sizes and the ratios checked.
    """
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return RunConfig()
    return parse_config(_read_json(path))


def read_ratios(run_dir: Path | str) -> tuple[Ratio, ...]:
    """The ratios config.json declares, validated (the gate's reading; () without a config).

    An unknown or missing key is a UserError naming the file and the key:
    a misspelt ``metric`` would otherwise gate throughput without a word.
    """
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        return ()
    document = _read_json(path)
    if not isinstance(document, dict):
        return ()
    return parse_ratios(document.get("ratios"), str(path))


def require_config(run_dir: Path | str) -> RunConfig:
    """The run's config.json, or a UserError when it has none (the simulator needs the specs)."""
    if not has_config(Path(run_dir)):
        raise UserError(f"{run_dir} has no {CONFIG}: is it a dnibench run directory?")
    return read_config(run_dir)


# ---------------------------------------------------------------- what a folder is


def check_run_dir(run_dir: Path | str) -> Path:
    """``run_dir`` as a Path, or a UserError if it is missing or not a directory."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise UserError(f"run directory {run_dir} does not exist; check the path, or {WHICH}")
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is a file, not a run directory; give the folder holding it")
    return run_dir


def holds_run(out: Path) -> bool:
    """Whether ``out`` already holds a run (results or status rows): never written over."""
    return (out / RESULTS).exists() or (out / STATUS).exists()


def run_kind(run_dir: Path | str) -> str:
    """:data:`BENCHMARK`, or the derived report's kind; a UserError for any other folder."""
    run_dir = check_run_dir(run_dir)
    config = read_config(run_dir)
    if config.derived is not None:
        return config.derived
    if {"settings", "model_costs"} <= set(config.raw):
        return SIMULATION
    if {"settings", "stragglers"} <= set(config.raw):
        return CROSSCHECK
    if (run_dir / RESULTS).is_file():
        return BENCHMARK
    if not config.present and (run_dir / GATE_STUDY_MARKER).is_file():
        return GATE_STUDY
    raise UserError(
        f"{run_dir} holds no {RESULTS}: it is not a run directory, or no benchmark in it "
        f"finished (see its {STATUS}); {WHICH}"
    )


def require_benchmark_run(run_dir: Path | str) -> Path:
    """``run_dir`` if it is a benchmark run; one UserError for a derived report or anything else."""
    run_dir = Path(run_dir)
    kind = run_kind(run_dir)
    if kind != BENCHMARK:
        raise UserError(
            f"{run_dir} is a {kind} report derived from other runs, not a benchmark run; {WHICH}"
        )
    return run_dir


# ---------------------------------------------------------------- CSV files


def read_results(run_dir: Path | str, *, finite: bool = False) -> pd.DataFrame:
    """The tidy rows of ``results.csv``, validated and typed.

    Integer columns come back as ``int``, ``value`` as ``float`` (NaN kept: a
    metric that did not apply, written ``nan`` or left empty), text columns as
    ``str`` with missing entries as ``""`` (the session's calibration row has
    no mode). Extra columns are dropped so every consumer sees the same frame.

    Every row must have as many fields as the header: results.csv is appended
    row by row, so a row cut off mid-write (``...,48`` where ``...,4835,samples/s``
    was meant) is an error naming the file and the line, never a value.
    ``finite=True`` (the regression gate) also refuses an infinite value.
    """
    run_dir = require_benchmark_run(run_dir)
    path = run_dir / RESULTS
    try:
        frame = pd.read_csv(path)
        lines = _row_lines(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty: no benchmark finished; {RERUN}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, csv.Error) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        message = f"{path} is not a readable CSV ({reason}): it is corrupt; {RERUN}"
        raise UserError(message) from None
    missing = [column for column in RESULT_COLUMNS if column not in frame.columns]
    if missing:
        raise UserError(
            f"{path} lacks the columns {', '.join(missing)}; it is not a dnibench results file "
            f"(expected {', '.join(RESULT_COLUMNS)}); {WHICH}"
        )
    if frame.empty:
        raise UserError(f"{path} holds no rows: no benchmark finished; {RERUN}")
    if len(lines) != len(frame):  # pandas and csv disagree on the rows: do not guess
        raise UserError(f"{path} is not a readable CSV (its rows do not line up); {RERUN}")
    frame = frame.loc[:, list(RESULT_COLUMNS)].copy()
    for column in (*_INTEGER_COLUMNS, "value"):
        frame[column] = _numeric_column(frame, column, path, lines)
    if finite:
        infinite = np.isinf(frame["value"].to_numpy())
        if infinite.any():
            index = int(np.flatnonzero(infinite)[0])
            raise UserError(
                f"{path} line {lines[index]}: value {frame['value'].iloc[index]} is not finite; "
                f"a measurement went wrong in that run, {RERUN}"
            )
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def _row_lines(path: Path) -> list[int]:
    """The line number of each data row of the CSV ``path``; a row of the wrong width is an error.

    Blank lines are skipped (as pandas skips them), so the numbers are the
    ones an editor shows. The last row cut short with no end of line is what
    a run killed mid-write leaves: the message says how to keep the rest.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        text = handle.read()
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        return []
    lines: list[int] = []
    for row in rows:
        if not row:
            continue
        if len(row) != len(header):
            _wrong_width(path, rows.line_num, len(row), len(header), text)
        lines.append(rows.line_num)
    return lines


def _wrong_width(path: Path, line: int, fields: int, expected: int, text: str) -> None:
    last = line == len(text.splitlines())
    width = f"has {fields} field{'s' if fields != 1 else ''} where the header has {expected}"
    if last and fields < expected and not text.endswith(("\n", "\r")):
        raise UserError(
            f"{path} line {line} is cut off ({width}, and no end of line): the run was "
            f"stopped while writing it. Re-run the benchmarks, or delete that partial last "
            f"line to keep the rows before it"
        )
    raise UserError(f"{path} line {line} {width}: the file is corrupt; {RERUN}")


def _numeric_column(frame: pd.DataFrame, column: str, path: Path, lines: list[int]) -> pd.Series:
    """``column`` parsed as numbers; text (or a fraction where an integer belongs) is corruption."""
    parsed = pd.to_numeric(frame[column], errors="coerce")
    bad = parsed.isna() & frame[column].notna()
    integer = column in _INTEGER_COLUMNS
    if integer:
        bad |= parsed.isna() | (parsed != parsed.round())
    if bad.any():
        index = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "an integer" if integer else "a number"
        raise UserError(
            f"{path} line {lines[index]}: {column} {str(frame[column].iloc[index])!r} is not "
            f"{kind}; the file is corrupt, {RERUN}"
        )
    return parsed.astype(int) if integer else parsed.astype(float)


def _read_csv(path: Path, required: tuple[str, ...], run_dir: Path) -> pd.DataFrame:
    """Read a CSV of the run, or raise a UserError that says what is wrong and how to fix it."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty (run directory {run_dir}); {RERUN}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{path} is not a readable CSV ({reason}); {RERUN}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path} lacks the column(s) {', '.join(missing)} (run directory {run_dir}); "
            f"was it written by dnibench? {RERUN}"
        )
    return frame


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> pd.DataFrame:
    """Make ``columns`` numeric; text where a number belongs means the file is corrupt."""
    frame = frame.copy()
    for column in columns:
        try:
            frame[column] = pd.to_numeric(frame[column])
        except (ValueError, TypeError):
            raise UserError(
                f"{path} has non-numeric entries in column {column!r}; the file is corrupt. {RERUN}"
            ) from None
    return frame


def read_status(run_dir: Path) -> pd.DataFrame:
    """``status.csv`` with every column (an empty frame when the run has none)."""
    status = pd.DataFrame(columns=list(STATUS_COLUMNS))
    path = run_dir / STATUS
    if path.is_file():
        status = _read_csv(path, STATUS_REQUIRED, run_dir)
        if "message" not in status.columns:
            status["message"] = ""
        status["message"] = ["" if pd.isna(m) else str(m) for m in status["message"]]
        status["benchmark"] = status["benchmark"].astype(str)
        status["status"] = status["status"].astype(str)
    return status


def status_rows(run_dir: Path) -> list[dict[str, str]]:
    """``status.csv`` as plain rows, tolerantly: [] when absent or unreadable.

    For callers that only explain (why a benchmark is missing) or count
    failures, where a damaged status file must not hide the results.
    """
    import csv

    path = Path(run_dir) / STATUS
    try:
        with path.open(newline="") as handle:
            return [{k: v or "" for k, v in row.items() if k} for row in csv.DictReader(handle)]
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def read_curves(run_dir: Path) -> pd.DataFrame:
    """``curves.csv`` of training benchmarks, numeric (empty with its columns when absent)."""
    path = run_dir / CURVES
    if not path.is_file():
        return pd.DataFrame(columns=[*CURVE_COLUMNS, *CURVE_CLOCK_COLUMNS])
    curves = _read_csv(path, CURVE_COLUMNS, run_dir)
    for column in CURVE_CLOCK_COLUMNS:  # written since ttq; older files read as NaN
        if column not in curves.columns:
            curves[column] = float("nan")
    curves = _numeric(curves, (*CURVE_COLUMNS[1:], *CURVE_CLOCK_COLUMNS), path)
    curves["benchmark"] = curves["benchmark"].astype(str)
    return curves


def read_rnn_curves(run_dir: Path) -> pd.DataFrame | None:
    """``rnn_curves.csv`` as written (None when the run has none)."""
    path = Path(run_dir) / RNN_CURVES
    return pd.read_csv(path) if path.is_file() else None


def raw_results(run_dir: Path) -> pd.DataFrame | None:
    """``results.csv`` as written, unvalidated (None when absent): derived reports' tables."""
    path = Path(run_dir) / RESULTS
    return pd.read_csv(path) if path.is_file() else None


def has_results(run_dir: Path) -> bool:
    """Whether any benchmark of the run finished (``results.csv`` exists)."""
    return (Path(run_dir) / RESULTS).exists()


def results_mtime(run_dir: Path) -> float:
    """When the run wrote its last result (``results.csv``'s modification time)."""
    return (Path(run_dir) / RESULTS).stat().st_mtime


# ---------------------------------------------------------------- JSON side files


def has_fingerprint(run_dir: Path) -> bool:
    return (Path(run_dir) / FINGERPRINT).is_file()


def read_fingerprint(run_dir: Path | str) -> dict[str, JsonValue]:
    """The machine the run was made on ({} when the run has no fingerprint.json)."""
    path = Path(run_dir) / FINGERPRINT
    if not path.is_file():
        return {}
    loaded = _read_json(path)
    return loaded if isinstance(loaded, dict) else {"fingerprint": loaded}


def read_corpora(run_dir: Path) -> dict[str, dict[str, JsonValue]]:
    """Benchmark name -> corpus provenance (``corpus.json``; {} for runs without one)."""
    path = Path(run_dir) / CORPUS
    if not path.is_file():
        return {}
    data = _read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path} must map benchmark names to corpus entries")
    return {str(name): entry for name, entry in data.items() if isinstance(entry, dict)}


def has_corpus(run_dir: Path) -> bool:
    return (Path(run_dir) / CORPUS).is_file()


def read_gpu_facts(run_dir: Path) -> dict[str, JsonValue]:
    """The run's GPU facts ({} when absent or unreadable: the GPU section says so)."""
    try:
        facts: JsonValue = json.loads((Path(run_dir) / GPU_FACTS).read_text())
    except (OSError, ValueError):
        return {}
    return facts if isinstance(facts, dict) else {}


# ---------------------------------------------------------------- traces


def has_traces(run_dir: Path) -> bool:
    """Whether the run has a traces/ folder (pipeline benchmarks with spans)."""
    return (Path(run_dir) / TRACES).is_dir()


def _trace_file(folder: Path, stem: str) -> Path | None:
    for suffix in (TRACE_SUFFIX, LEGACY_TRACE_SUFFIX):
        path = folder / f"{stem}{suffix}"
        try:
            if path.is_file():
                return path
        except OSError:  # a name too long for the file system has no trace
            return None
    return None


def trace_paths(run_dir: Path, name: str) -> list[Path]:
    """The trace of each launch of benchmark ``name`` that kept one, in launch order."""
    folder = Path(run_dir) / TRACES
    numbered: dict[int, Path] = {}
    for suffix in (LEGACY_TRACE_SUFFIX, TRACE_SUFFIX):  # .json.gz wins over a stale .json
        for path in folder.glob(f"{name}-r*{suffix}"):
            launch = path.name[len(name) + 2 : -len(suffix)]
            if launch.isdigit():  # not another benchmark whose name extends this one
                numbered[int(launch)] = path
    if numbered:
        return [numbered[k] for k in sorted(numbered)]
    single = _trace_file(folder, name)
    return [single] if single is not None else []


def first_trace(run_dir: Path, name: str) -> Path | None:
    """The trace of the benchmark's only launch, or of its first (``NAME-r0``); None if neither."""
    folder = Path(run_dir) / TRACES
    return _trace_file(folder, name) or _trace_file(folder, f"{name}-r0")


def load_trace(path: Path) -> JsonValue:
    """A trace file's JSON document, gzip'd or plain (OSError / ValueError when unreadable)."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except EOFError as err:  # a truncated gzip stream
            raise ValueError(f"truncated gzip stream ({err})") from None
    loaded: JsonValue = json.loads(data.decode("utf-8"))
    return loaded


# ---------------------------------------------------------------- the whole run


def machine_kind(fingerprint: Mapping[str, JsonValue]) -> str:
    """``"gpu"`` when the fingerprint names a GPU or the nccl backend, else ``"cpu"``."""
    if fingerprint.get("gpu") or fingerprint.get("backend") == "nccl":
        return "gpu"
    return "cpu"


@dataclass
class RunData:
    """Everything a report needs from one benchmark run directory, already validated."""

    run_dir: Path
    results: pd.DataFrame
    status: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    fingerprint: dict[str, JsonValue] = field(default_factory=dict)
    config: RunConfig = field(default_factory=RunConfig)

    @property
    def label(self) -> str:
        """The run's name in comparisons: its directory name."""
        return self.run_dir.name

    @property
    def machine(self) -> str:
        """``"gpu"`` or ``"cpu"``, from the fingerprint."""
        return machine_kind(self.fingerprint)

    def benchmarks(self) -> list[str]:
        """Benchmark names in the order they first appear in results.csv."""
        return [str(b) for b in self.results["benchmark"].drop_duplicates()]

    def _of_kind(self, kinds: tuple[str, ...], metrics: frozenset[str]) -> list[str]:
        """Benchmarks of ``kinds`` with rows, by config.json; by their metrics for old runs."""
        have = self.results[self.results["metric"].isin(metrics)]["benchmark"]
        wanted = set(have.astype(str))
        listed = {e.name for e in self.config.of_kind(*kinds)}
        if listed:
            wanted &= listed
        return [b for b in self.benchmarks() if b in wanted]

    def pipeline_benchmarks(self) -> list[str]:
        """Benchmarks with pipeline metrics (efficiency, per-stage busy time)."""
        return self._of_kind(("pipeline",), PIPELINE_METRICS)

    def training_benchmarks(self) -> list[str]:
        """Feed-forward training benchmarks (test accuracy, time to target), not recurrent ones."""
        recurrent = set(self.recurrent_benchmarks())
        found = self._of_kind(("train",), TRAINING_METRICS)
        return [b for b in found if b not in recurrent]

    def recurrent_benchmarks(self) -> list[str]:
        """Recurrent benchmarks (BPC, longest solved copy length): reported by their own section."""
        return self._of_kind(_RECURRENT_KINDS, RECURRENT_METRICS)

    def rows(self, metric: str, stage: int | None = -1) -> pd.DataFrame:
        """Rows of one metric; ``stage=None`` keeps every stage."""
        frame = self.results[self.results["metric"] == metric]
        if stage is not None:
            frame = frame[frame["stage"] == stage]
        return frame

    def value(self, bench: str, metric: str, stage: int = -1, how: str = "median") -> float:
        """One figure of a benchmark: ``how`` (median/mean/max/min) over repeats; NaN if absent."""
        frame = self.rows(metric, stage)
        values = frame[frame["benchmark"] == bench]["value"].dropna()
        if values.empty:
            return math.nan
        return float(getattr(values, how)())

    def stages(self, bench: str) -> list[int]:
        """The stage indices (>= 0) a benchmark has per-stage rows for."""
        frame = self.results[self.results["benchmark"] == bench]
        return sorted(int(s) for s in frame["stage"].unique() if s >= 0)

    def repeats(self, bench: str) -> int:
        """How many repeats of a benchmark were recorded."""
        return int(self.results[self.results["benchmark"] == bench]["repeat"].nunique())

    def warmup(self, bench: str, default: int = 5) -> int:
        """Warm-up steps of a benchmark from config.json (``default`` if unknown)."""
        entry = self.config.entry(bench)
        return default if entry is None else entry.spec.integer("warmup", default)


def load_run(run_dir: Path | str) -> RunData:
    """Load and validate a benchmark run directory; a UserError names any problem and its fix."""
    run_dir = check_run_dir(Path(run_dir))
    results = read_results(run_dir)
    return RunData(
        run_dir,
        results,
        read_status(run_dir),
        read_curves(run_dir),
        read_fingerprint(run_dir),
        read_config(run_dir),
    )


__all__ = [
    "BENCHMARK",
    "CURVE_COLUMNS",
    "PIPELINE_METRICS",
    "RECURRENT_METRICS",
    "RERUN",
    "RESULT_COLUMNS",
    "STATUS_COLUMNS",
    "TRAINING_METRICS",
    "WHICH",
    "BenchmarkEntry",
    "JsonValue",
    "Ratio",
    "RunConfig",
    "RunData",
    "Spec",
    "check_run_dir",
    "first_trace",
    "has_config",
    "has_corpus",
    "has_fingerprint",
    "has_results",
    "has_traces",
    "holds_run",
    "load_run",
    "load_trace",
    "machine_kind",
    "parse_config",
    "raw_results",
    "read_config",
    "read_corpora",
    "read_curves",
    "read_fingerprint",
    "read_gpu_facts",
    "read_ratios",
    "read_results",
    "read_rnn_curves",
    "read_status",
    "require_benchmark_run",
    "require_config",
    "results_mtime",
    "run_kind",
    "status_rows",
    "trace_paths",
]  # fmt: skip
