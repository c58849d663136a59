"""Run benchmarks into a run directory, keeping every result as it lands.

The layout of a run directory is :data:`dnibench.rundir.layout.LAYOUT`; every
file goes through :mod:`dnibench.rundir.writer`.

A crash or Ctrl-C loses only the benchmark in progress: rows are appended
and flushed one benchmark at a time, and the status file says what happened
to the rest. Repeats run in rounds (every benchmark once, then again), so
slow drift of a shared machine spreads over all benchmarks instead of
biasing the last ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

from dnibench.bench.fingerprint import fingerprint
from dnibench.bench.parallel import ParallelInterrupted, run_parallel
from dnibench.errors import NotApplicable, UserError
from dnibench.instrument import SpanKind, SpanRecorder
from dnibench.rundir import writer
from dnibench.rundir.reader import status_rows
from dnibench.runtimes.harness import RankFailure
from dnibench.runtimes.spec import BenchSpec
from dnibench.studies.item import Item
from dnibench.studies.registry import benchmark_kind

FAILED = "failed"
"""Status of a benchmark that raised, hung, was killed or could not be built: ``run`` exits 3."""
NOT_APPLICABLE = "not_applicable"
"""Status of a benchmark this machine cannot run (too few GPUs): not a failure."""


def _config_entry(item: Item) -> dict[str, object]:
    body = benchmark_kind(item.kind).body(item)
    return {
        "name": item.name,
        "kind": item.kind,
        "repeats": item.repeats,
        "target_accuracy": item.target_accuracy,
        "spec": asdict(body) if is_dataclass(body) and not isinstance(body, type) else None,
    }


def prepare_run_dir(
    out: Path,
    items: Sequence[Item | BenchSpec],
    extra: dict | None = None,
    *,
    keep_all_traces: bool = False,
) -> None:
    """Create ``out`` (which must not hold results yet) with config and fingerprint."""
    entries = [Item.of(i) if isinstance(i, BenchSpec) else i for i in items]
    config = {"benchmarks": [_config_entry(item) for item in entries], **(extra or {})}
    specs = [item.spec for item in entries if item.spec is not None]
    world = max((spec.world_size for spec in specs), default=1)
    backend = specs[0].backend if specs else "gloo"
    finger = fingerprint(backend, world)
    writer.prepare(out, config, finger, keep_all_traces=keep_all_traces)


def span_cost_ns(count: int = 20000) -> float:
    """Measured cost of recording one span on this machine (for the overhead estimate)."""
    recorder = SpanRecorder(capacity=count)
    started = time.perf_counter_ns()
    for index in range(count):
        with recorder.span(SpanKind.FORWARD, index):
            pass
    return (time.perf_counter_ns() - started) / count


def _run_one(item: Item, repeat: int, repeats: int, out: Path, deadline_s: float | None) -> object:
    return benchmark_kind(item.kind).run(item, repeat, repeats, out, deadline_s)


def _write_status(out: Path, name: str, state: str, seconds: str, message: str = "") -> None:
    """One status.csv row: a benchmark run's outcome, its seconds and why when not ok."""
    row = {"benchmark": name, "status": state, "seconds": seconds, "message": message}
    writer.append_status(out, [row])


def _write_interrupted(out: Path, unfinished: Sequence[tuple[Item, int]]) -> None:
    """Rows for the runs Ctrl-C stopped or never started, so status.csv lists every run."""
    rows = [{"benchmark": item.name, "status": "interrupted", "seconds": 0, "message": ""}
            for item, _ in unfinished]  # fmt: skip
    writer.append_status(out, rows)


def run_session(
    items: Sequence[Item | BenchSpec],
    out: Path,
    *,
    repeats: int | None = None,
    deadline_s: float | None = 600,
    on_result: Callable[[Item, object, str], None] | None = None,
    extra_config: dict | None = None,
    jobs: int = 1,
    keep_all_traces: bool = False,
) -> list[object]:
    """Run every item (``repeats`` overrides each item's own count) into ``out``.

    Failures are recorded, not fatal. Ctrl-C stops the benchmark in progress
    (its ranks included), records the rest as interrupted and re-raises, so
    the caller can report what was kept. With ``jobs`` > 1 the one-thread
    recurrent runs go first, ``jobs`` at a time (:mod:`dnibench.bench.parallel`);
    everything else then runs alone. Only each benchmark's first launch keeps
    its trace unless ``keep_all_traces``.
    """
    entries: list[Item] = [Item.of(i) if isinstance(i, BenchSpec) else i for i in items]
    prepare_run_dir(out, entries, extra_config, keep_all_traces=keep_all_traces)
    calibration = {"benchmark": "calibration", "mode": "", "stages": 0, "microbatches": 0,
                   "metric": "span_cost", "stage": -1, "repeat": 0,
                   "value": span_cost_ns(), "unit": "ns"}  # fmt: skip
    writer.append_results(out, [calibration])
    rounds = max((repeats or item.repeats) for item in entries) if entries else 0
    pending = [
        (item, repeat)
        for repeat in range(rounds)
        for item in entries
        if repeat < (repeats or item.repeats)
    ]
    results: list[object] = []
    if jobs > 1:
        side_by_side = [pair for pair in pending if benchmark_kind(pair[0].kind).parallel]
        pending = [pair for pair in pending if not benchmark_kind(pair[0].kind).parallel]

        def status(item: Item, state: str, seconds: float, message: str) -> None:
            _write_status(out, item.name, state, f"{seconds:.1f}", message)
            if on_result is not None and state != "ok":
                on_result(item, None, message)

        def record(item: Item, repeat: int, result: object) -> None:
            benchmark_kind(item.kind).record(out, item, result, repeat, repeats or item.repeats)
            if on_result is not None:
                on_result(item, result, "ok")

        try:
            results += run_parallel(side_by_side, jobs, record, status)
        except ParallelInterrupted as stop:
            _write_interrupted(out, [*stop.unfinished, *pending])
            raise
    for index, (item, repeat) in enumerate(pending):
        started = time.perf_counter()
        try:
            result = _run_one(item, repeat, repeats or item.repeats, out, deadline_s)
        except KeyboardInterrupt:
            _write_interrupted(out, pending[index:])
            raise
        except (RankFailure, UserError) as err:
            seconds = time.perf_counter() - started
            state = NOT_APPLICABLE if isinstance(err, NotApplicable) else FAILED
            _write_status(out, item.name, state, f"{seconds:.1f}", str(err))
            if on_result is not None:
                on_result(item, None, f"{state}: {err}" if state == NOT_APPLICABLE else str(err))
            continue
        _write_status(out, item.name, "ok", f"{time.perf_counter() - started:.1f}")
        results.append(result)
        if on_result is not None:
            on_result(item, result, "ok")
    return results


def failed_benchmarks(out: Path) -> list[str]:
    """Names of the benchmark runs ``status.csv`` records as failed (not_applicable is not)."""
    return [row["benchmark"] for row in status_rows(out) if row.get("status") == FAILED]


__all__ = [
    "FAILED", "NOT_APPLICABLE", "Item", "failed_benchmarks", "prepare_run_dir",
    "run_session", "span_cost_ns",
]  # fmt: skip
