"""What a run directory holds, written down once: file names, columns, format version.

A run directory outlives the code that wrote it (baselines are committed and
compared months later), so its shape is a contract. Every file name and column
list lives here; the writer (:mod:`dnibench.rundir.writer`) and the reader
(:mod:`dnibench.rundir.reader`) are the only modules that use them as paths,
and a test keeps the names out of every other module's code.

:data:`LAYOUT` is the prose description, one line per entry; the README and
the docstrings quote it rather than repeat it.
"""

from __future__ import annotations

FORMAT_VERSION = 1
"""The version ``config.json`` records as ``format_version``; a missing version is legacy v0."""
LEGACY_VERSION = 0

CONFIG = "config.json"
FINGERPRINT = "fingerprint.json"
RESULTS = "results.csv"
CURVES = "curves.csv"
RNN_CURVES = "rnn_curves.csv"
STATUS = "status.csv"
CORPUS = "corpus.json"
TRACES = "traces"
PYTEST_BENCHMARK = "pytest-benchmark.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
PLOTS = "plots"
ERRORS = "errors.log"
"""Full tracebacks of the benchmarks that failed (status.csv holds one line each)."""
VERDICTS = "verdicts.csv"
"""Every verdict of the report, one row each (rewritten with the report)."""
GPU_FACTS = "gpu_facts.json"
"""What tools/gpu_facts.py recorded about the GPU before a GPU suite ran (tools/gpu_check.sh)."""

TRACE_SUFFIX = ".json.gz"
"""Traces are written gzip-compressed (Perfetto opens them as they are)."""
LEGACY_TRACE_SUFFIX = ".json"
"""Traces written before format version 1: plain JSON, still read."""

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
"""The tidy columns of ``results.csv``: written by the session, checked by the reader."""

CURVE_COLUMNS = (
    "benchmark", "repeat", "step", "samples", "seconds", "train_loss", "test_loss",
    "test_accuracy",
)  # fmt: skip
"""Learning curves of training benchmarks (``curves.csv``): the columns every version wrote."""

CURVE_CLOCK_COLUMNS = ("wall_seconds", "wall_seconds_with_eval", "cpu_seconds")
"""Clocks of a curve point written since ttq: training wall seconds, the MLPerf reading (every
evaluation so far added, as if on the clock) and CPU seconds of every process; ``seconds`` stays
what the kind counts (train: CPU seconds of the training steps). Empty where a kind has none;
files without them read as NaN."""

RNN_CURVE_COLUMNS = (
    "benchmark", "kind", "repeat", "chars", "seconds", "train_bpc", "test_bpc", "valid_bpc",
    "wall_seconds", "sg_cosine", "sg_relative_error", "sg_norm_ratio", "sg_carried_ratio",
    "length", "longest_solved", "error_bits",
)  # fmt: skip
"""Curves of recurrent benchmarks (``rnn_curves.csv``); a column meaningless for a kind is empty."""

VERDICT_COLUMNS = (
    "study", "claim", "verdict", "estimate", "low", "high", "level", "method", "n", "goal",
    "better", "premise",
)  # fmt: skip
"""Columns of ``verdicts.csv``: the claim, its verdict word, the estimate and its interval
(level: coverage; method: how it was formed), the goal and side, the failed premise if any."""

STATUS_COLUMNS = ("benchmark", "status", "seconds", "message")
"""One row per benchmark run (``status.csv``): ok / failed / not_applicable / interrupted."""
STATUS_REQUIRED = ("benchmark", "status")
"""The status columns every version wrote (seconds and message came later)."""

LAYOUT: tuple[tuple[str, str], ...] = (
    (CONFIG, "the expanded benchmarks in run order, the suites, ratios, command, format_version"),
    (FINGERPRINT, "the machine: CPU, GPU, driver, torch, backend, git commit"),
    (RESULTS, "tidy rows (" + ", ".join(RESULT_COLUMNS) + "), appended as each benchmark ends"),
    (CURVES, "learning curves of training and time-to-quality benchmarks"),
    (RNN_CURVES, "curves of recurrent benchmarks (rnn and copy kinds)"),
    (STATUS, "one row per benchmark run: ok / failed / not_applicable / interrupted"),
    (ERRORS, "the full traceback of each failed benchmark (status.csv says it in one line)"),
    (CORPUS, "the text each recurrent benchmark read (name, sizes, SHA-256)"),
    (f"{TRACES}/NAME{TRACE_SUFFIX}", "gzip'd Chrome trace of the first launch of each pipeline "
     "benchmark (opens in Perfetto; all launches with --all-traces)"),
    (PYTEST_BENCHMARK, "the results in pytest-benchmark's format (dnibench export)"),
    (GPU_FACTS, "the GPU, its clocks and idle power before the run (GPU checks only)"),
    (VERDICTS, "every verdict of the report, one row each (" + ", ".join(VERDICT_COLUMNS) + ")"),
    (REPORT_MD, "the report as Markdown"),
    (REPORT_HTML, "the report as one self-contained HTML page"),
    (f"{PLOTS}/", "the report's figures"),
)  # fmt: skip
"""Each entry of a run directory and what it holds, in the order a reader meets them."""

DERIVED = "derived"
"""The ``config.json`` key that marks a derived report (not a benchmark run) and names its kind."""
SIMULATION = "simulation"
CROSSCHECK = "crosscheck"
GATE_STUDY = "gate-study"
DERIVED_KINDS = (SIMULATION, CROSSCHECK, GATE_STUDY)
GATE_STUDY_MARKER = "rates_merged.csv"
"""What marks the committed gate study, written before the ``derived`` marker (it has no config)."""


def describe_layout() -> str:
    """The layout as an indented block, for docstrings, the README and ``--help`` texts."""
    width = max(len(name) for name, _ in LAYOUT)
    return "\n".join(f"    {name:<{width}}  {text}" for name, text in LAYOUT)


def trace_name(benchmark: str) -> str:
    """The file name of a benchmark launch's trace (``benchmark`` may carry ``-rN``)."""
    return f"{benchmark}{TRACE_SUFFIX}"


__all__ = [
    "CONFIG",
    "CORPUS",
    "CROSSCHECK",
    "CURVES",
    "CURVE_CLOCK_COLUMNS",
    "CURVE_COLUMNS",
    "DERIVED",
    "DERIVED_KINDS",
    "ERRORS",
    "FINGERPRINT",
    "FORMAT_VERSION",
    "GATE_STUDY",
    "GATE_STUDY_MARKER",
    "GPU_FACTS",
    "LAYOUT",
    "LEGACY_TRACE_SUFFIX",
    "LEGACY_VERSION",
    "PLOTS",
    "PYTEST_BENCHMARK",
    "REPORT_HTML",
    "REPORT_MD",
    "RESULTS",
    "RESULT_COLUMNS",
    "RNN_CURVES",
    "RNN_CURVE_COLUMNS",
    "SIMULATION",
    "STATUS",
    "STATUS_COLUMNS",
    "STATUS_REQUIRED",
    "TRACES",
    "TRACE_SUFFIX",
    "VERDICTS",
    "VERDICT_COLUMNS",
    "describe_layout",
    "trace_name",
]  # fmt: skip
