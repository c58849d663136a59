"""The kinds of benchmark a suite may hold, and what each kind means to a run.

Everything that treats benchmarks differently by kind asks this registry
instead of comparing the kind's name: which runtimes it may use, which of
the item's fields is its configuration (in the run's config), how one run of it
is executed and its rows recorded, and the line the progress report prints
when it ends. A new kind is one :class:`BenchmarkKind` in :data:`KINDS`.
(Report sections are found from what a run directory holds, not by kind:
see :mod:`dnibench.report.sections`.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dnibench.bench.run import run_benchmark
from dnibench.errors import unknown_name
from dnibench.rundir import writer

RunOnce = Callable[[Any, int, int, Path, "float | None"], Any]
"""(item, repeat, repeats, run directory, deadline in s) -> the result, rows already appended."""


@dataclass(frozen=True)
class BenchmarkKind:
    """One kind of benchmark: ``runtimes`` lists its default first."""

    name: str
    runtimes: tuple[str, ...]
    body: Callable[[Any], Any]
    run: RunOnce
    progress: Callable[[Any], str]
    pipeline: bool = False
    """Runs a stage-split pipeline from a BenchSpec: stragglers and GPU telemetry apply."""


def _run_pipeline(item: Any, repeat: int, repeats: int, out: Path, deadline_s: float | None):
    spec = item.spec
    assert spec is not None, f"pipeline benchmark {item.name} has no spec"
    if spec.name != item.name:
        spec = spec.with_(name=item.name)
    result = run_benchmark(spec, deadline_s=deadline_s)
    writer.append_results(out, result.rows(repeat))
    name = item.name if repeats == 1 else f"{item.name}-r{repeat}"
    if writer.keeps_trace(out, repeat):  # the first launch, or every one with --all-traces
        writer.write_trace(out, name, result.trace(), launch=repeat)
    return result


def _run_train(item: Any, repeat: int, repeats: int, out: Path, deadline_s: float | None):
    from dnibench.bench.train_bench import run_training, train_rows

    assert item.train is not None, f"training benchmark {item.name} has no configuration"
    result = run_training(item.train, repeat)
    rows, curve = train_rows(item.name, result, repeat, item.target_accuracy)
    writer.append_results(out, rows)
    writer.append_curves(out, curve)
    return result


def record_recurrent(out: Path, result: Any) -> None:
    """Append one recurrent run's rows, curve and corpus to the run directory."""
    writer.append_results(out, result.rows())
    writer.append_rnn_curves(out, result.curve_rows())
    result.write_provenance(out)


def _run_recurrent(item: Any, repeat: int, repeats: int, out: Path, deadline_s: float | None):
    from dnibench.recurrent.bench import run_recurrent

    result = run_recurrent(item.name, getattr(item, "recurrent", None), repeat)
    record_recurrent(out, result)
    return result


def _pipeline_line(result: Any) -> str:
    m = result.metrics
    return f"{m.throughput:8.0f} samples/s  efficiency {m.efficiency:.3f}"


def _rnn_line(result: Any) -> str:
    final = result.result.final
    return f"held-out BPC {final.test_bpc:.4f} after {final.chars:,} chars"


PIPELINE = "pipeline"

KINDS: dict[str, BenchmarkKind] = {
    kind.name: kind
    for kind in (
        BenchmarkKind(
            PIPELINE, ("dist", "streams"), lambda item: item.spec, _run_pipeline,
            _pipeline_line, pipeline=True,
        ),
        BenchmarkKind(
            "train", ("reference",), lambda item: item.train, _run_train,
            lambda result: f"test accuracy {result.final.test_accuracy:.4f}",
        ),
        BenchmarkKind(
            "rnn", ("reference",), lambda item: getattr(item, "recurrent", None), _run_recurrent,
            _rnn_line,
        ),
        BenchmarkKind(
            "copy", ("reference",), lambda item: getattr(item, "recurrent", None), _run_recurrent,
            lambda result: f"longest solved length {result.result.final.longest_solved}",
        ),
    )
}  # fmt: skip


def benchmark_kind(name: str) -> BenchmarkKind:
    """The registered kind ``name``; a UserError listing the kinds (with a close match) if none."""
    try:
        return KINDS[name]
    except KeyError:
        raise unknown_name("benchmark kind", name, KINDS) from None


__all__ = ["KINDS", "PIPELINE", "BenchmarkKind", "RunOnce", "benchmark_kind", "record_recurrent"]
