"""Reading a run directory back for reports, with one clear error per way it can be broken.

Reports and comparisons are rebuilt from files on disk, often long after the
run and on another machine, so every file is validated here once: a missing
directory, an unreadable CSV or a CSV without the expected columns becomes a
:class:`~dnibench.errors.UserError` naming the file and the fix, instead of a
pandas traceback deep inside a plot.

Layout read (see :mod:`dnibench.bench.session`)::

    results.csv        tidy rows (required)
    status.csv         ok / failed / skipped / interrupted per benchmark (optional)
    curves.csv         learning curves of training benchmarks (optional)
    fingerprint.json   the machine (optional)
    config.json        the benchmark specs, for warm-up lengths (optional)
    traces/NAME.json   Chrome traces (optional)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dnibench.bench.results_file import RERUN, RESULT_COLUMNS, check_run_dir, read_results
from dnibench.errors import UserError

__all__ = [
    "CURVE_COLUMNS",
    "RESULT_COLUMNS",
    "STATUS_COLUMNS",
    "RunData",
    "load_run",
    "machine_kind",
]

STATUS_COLUMNS = ("benchmark", "status")
CURVE_COLUMNS = (
    "benchmark", "repeat", "step", "samples", "seconds", "train_loss", "test_loss",
    "test_accuracy",
)  # fmt: skip

#: Metrics only a pipeline benchmark records (per stage or whole pipeline): how a legacy run
#: whose config.json names no kinds is read (every run dnibench writes names each item's kind).
PIPELINE_METRICS = frozenset({"pipeline_efficiency", "busy_fraction", "ideal_throughput"})
#: Metrics only a training benchmark records.
TRAINING_METRICS = frozenset({"test_accuracy", "samples_to_target", "seconds_to_target"})
#: Metrics only a recurrent benchmark (rnn / copy kinds) records: its own report section
#: (dnibench.studies.recurrent.report.section) shows it, so the generic tables and plots
#: leave it out.
RECURRENT_METRICS = frozenset({"bpc", "longest_solved"})

_FIX = RERUN


@dataclass
class RunData:
    """Everything a report needs from one run directory, already validated."""

    run_dir: Path
    results: pd.DataFrame
    status: pd.DataFrame = field(default_factory=pd.DataFrame)
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    config: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    """Each benchmark's kind, from config.json (empty for a legacy run that names none)."""

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

    def _with_metrics(self, metrics: frozenset[str]) -> list[str]:
        have = self.results[self.results["metric"].isin(metrics)]["benchmark"]
        wanted = set(have.astype(str))
        return [b for b in self.benchmarks() if b in wanted]

    def _of_kind(self, kinds: tuple[str, ...], legacy: frozenset[str]) -> list[str]:
        """Benchmarks with ``legacy`` rows whose kind is one of ``kinds`` (legacy runs: any)."""
        if not self.kinds:
            return self._with_metrics(legacy)
        return [b for b in self._with_metrics(legacy) if self.kinds.get(b) in kinds]

    def pipeline_benchmarks(self) -> list[str]:
        """Pipeline benchmarks with pipeline metrics (efficiency, per-stage busy time)."""
        return self._of_kind(("pipeline",), PIPELINE_METRICS)

    def training_benchmarks(self) -> list[str]:
        """Feed-forward training benchmarks (test accuracy, time to target), not recurrent ones."""
        recurrent = set(self.recurrent_benchmarks())
        found = self._of_kind(("train",), TRAINING_METRICS)
        return [b for b in found if b not in recurrent]

    def recurrent_benchmarks(self) -> list[str]:
        """Recurrent benchmarks (BPC, longest solved copy length): reported by their own section."""
        return self._of_kind(("rnn", "copy"), RECURRENT_METRICS)

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
        for spec in self.config:
            if isinstance(spec, dict) and spec.get("name") == bench:
                try:
                    return int(spec.get("warmup", default))
                except (TypeError, ValueError):
                    return default
        return default


def machine_kind(fingerprint: dict[str, Any]) -> str:
    """``"gpu"`` when the fingerprint names a GPU or the nccl backend, else ``"cpu"``."""
    if fingerprint.get("gpu") or fingerprint.get("backend") == "nccl":
        return "gpu"
    return "cpu"


def _read_csv(path: Path, required: tuple[str, ...], run_dir: Path) -> pd.DataFrame:
    """Read a CSV of the run, or raise a UserError that says what is wrong and how to fix it."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty (run directory {run_dir}); {_FIX}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"{path} is not a readable CSV ({reason}); {_FIX}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UserError(
            f"{path} lacks the column(s) {', '.join(missing)} (run directory {run_dir}); "
            f"was it written by dnibench? {_FIX}"
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
                f"{path} has non-numeric entries in column {column!r}; the file is corrupt. {_FIX}"
            ) from None
    return frame


def _read_json(path: Path, run_dir: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(
            f"{path} is not readable JSON ({err}); restore it from the run or delete it "
            f"(run directory {run_dir})"
        ) from None


def load_run(run_dir: Path | str) -> RunData:
    """Load and validate a run directory; a :class:`UserError` names any problem and its fix."""
    run_dir = check_run_dir(Path(run_dir))
    results = read_results(run_dir)

    status = pd.DataFrame(columns=["benchmark", "status", "seconds", "message"])
    status_path = run_dir / "status.csv"
    if status_path.is_file():
        status = _read_csv(status_path, STATUS_COLUMNS, run_dir)
        if "message" not in status.columns:
            status["message"] = ""
        status["message"] = ["" if pd.isna(m) else str(m) for m in status["message"]]
        status["benchmark"] = status["benchmark"].astype(str)
        status["status"] = status["status"].astype(str)

    curves = pd.DataFrame(columns=list(CURVE_COLUMNS))
    curves_path = run_dir / "curves.csv"
    if curves_path.is_file():
        curves = _read_csv(curves_path, CURVE_COLUMNS, run_dir)
        curves = _numeric(curves, CURVE_COLUMNS[1:], curves_path)
        curves["benchmark"] = curves["benchmark"].astype(str)

    fingerprint: dict[str, Any] = {}
    finger_path = run_dir / "fingerprint.json"
    if finger_path.is_file():
        loaded = _read_json(finger_path, run_dir)
        fingerprint = loaded if isinstance(loaded, dict) else {"fingerprint": loaded}

    config: list[dict[str, Any]] = []
    kinds: dict[str, str] = {}
    config_path = run_dir / "config.json"
    if config_path.is_file():
        try:
            loaded = json.loads(config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            loaded = []  # only warm-up lengths come from here; defaults are fine
        config = loaded if isinstance(loaded, list) else []
        kinds = _kinds(loaded)
    return RunData(run_dir, results, status, curves, fingerprint, config, kinds)


def _kinds(config: object) -> dict[str, str]:
    """Benchmark name -> kind from a loaded config.json; empty when it names no kinds."""
    entries = config.get("benchmarks", []) if isinstance(config, dict) else config
    if not isinstance(entries, list):
        return {}
    return {
        str(entry["name"]): str(entry["kind"])
        for entry in entries
        if isinstance(entry, dict) and "name" in entry and "kind" in entry
    }
