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

import contextlib
import errno
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

from dnibench.bench.fingerprint import fingerprint
from dnibench.bench.parallel import ParallelInterrupted, run_parallel
from dnibench.errors import NotApplicable, UserError
from dnibench.instrument import SpanKind, SpanRecorder
from dnibench.rundir import writer
from dnibench.rundir.layout import STATUS
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
    # A parallel kind (kmap's replay, train) runs all its stages in one process: no group.
    ranked = [
        item.spec
        for item in entries
        if item.spec is not None and not benchmark_kind(item.kind).parallel
    ]
    world = max((spec.world_size for spec in ranked), default=1)
    backend = specs[0].backend if specs else "gloo"
    finger = fingerprint(backend, world, sorted({spec.dtype for spec in specs}))
    writer.prepare(out, config, finger, keep_all_traces=keep_all_traces)


def span_cost_ns(count: int = 20000) -> float:
    """Measured cost of recording one span on this machine (for the overhead estimate)."""
    recorder = SpanRecorder(capacity=count)
    started = time.perf_counter_ns()
    for index in range(count):
        with recorder.span(SpanKind.FORWARD, index):
            pass
    return (time.perf_counter_ns() - started) / count


class DiskFull(Exception):
    """The disk of the run directory is full: the run stops, what was written is kept (exit 3)."""


class _Phase:
    """Where a benchmark run is: what a failure's one line says it was doing."""

    def __init__(self) -> None:
        self.doing = "while running"


def _run_one(
    item: Item, repeat: int, repeats: int, out: Path, deadline_s: float | None, phase: _Phase
) -> object:
    kind = benchmark_kind(item.kind)
    phase.doing = "while running"
    result = kind.compute(item, repeat, deadline_s)
    phase.doing = "while recording its results"
    kind.record(out, item, result, repeat, repeats)
    return result


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` says the disk (or the user's quota) is full."""
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)


def failure_line(err: BaseException, doing: str = "") -> str:
    """One plain-language line for a failed benchmark run: what it was doing and why it failed.

    dnibench's own errors (a stage that raised, hung or died; a user error)
    already name the stage and the cause and are kept as they are.
    """
    if isinstance(err, RankFailure | UserError):
        return " ".join(str(err).split())
    first = " ".join(str(err).split()) or type(err).__name__
    if is_disk_full(err):
        cause = f"the disk is full ({first})"
    elif isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG:
        cause = f"a file name is too long for the file system ({first})"
    elif isinstance(err, MemoryError):
        cause = f"out of memory (MemoryError {first})"
    elif isinstance(err, RuntimeError) and any(
        word in first.lower() for word in ("allocate", "out of memory", "bad_alloc")
    ):
        cause = f"out of memory: could not allocate ({first})"
    else:
        cause = f"{type(err).__name__}: {first}"
    return f"{doing}: {cause}" if doing else cause


def _log_error(out: Path, item: Item, repeat: int, line: str, err: BaseException) -> None:
    """The full traceback of a failed run, in the run's error log (a full disk loses it)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    trace = "".join(traceback.format_exception(err))
    if isinstance(err, RankFailure) and err.output:  # the ranks' own tracebacks
        trace += err.output
    with contextlib.suppress(OSError, UserError):
        writer.append_error(out, f"=== {stamp} {item.name} repeat {repeat}: {line}\n{trace}\n")


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
    calibration = {"benchmark": "calibration", "mode": "", "stages": 0, "microbatches": 0,
                   "metric": "span_cost", "stage": -1, "repeat": 0,
                   "value": span_cost_ns(), "unit": "ns"}  # fmt: skip
    try:
        prepare_run_dir(out, entries, extra_config, keep_all_traces=keep_all_traces)
        writer.append_results(out, [calibration])
    except OSError as err:
        if is_disk_full(err):
            raise DiskFull(f"the disk holding {out} is full; no benchmark ran ({err})") from err
        raise
    rounds = max((repeats or item.repeats) for item in entries) if entries else 0
    pending = [
        (item, repeat)
        for repeat in range(rounds)
        for item in entries
        if repeat < (repeats or item.repeats)
    ]
    results: list[object] = []
    if jobs > 1:
        side_by_side = [p for p in pending if benchmark_kind(p[0].kind).side_by_side(p[0])]
        pending = [p for p in pending if not benchmark_kind(p[0].kind).side_by_side(p[0])]

        def status(item: Item, state: str, seconds: float, message: str) -> None:
            _write_status(out, item.name, state, f"{seconds:.1f}", message)
            if on_result is not None and state != "ok":
                on_result(item, None, message)

        def record(item: Item, repeat: int, result: object) -> None:
            try:
                benchmark_kind(item.kind).record(out, item, result, repeat, repeats or item.repeats)
            except Exception as err:  # run_parallel records the run as failed with this line
                line = failure_line(err, "while recording its results")
                _log_error(out, item, repeat, line, err)
                raise RuntimeError(line) from err
            if on_result is not None:
                on_result(item, result, "ok")

        try:

            def log_error(item: Item, repeat: int, line: str, err: BaseException) -> None:
                _log_error(out, item, repeat, line, err)

            results += run_parallel(side_by_side, jobs, record, status, log_error)
        except ParallelInterrupted as stop:
            _write_interrupted(out, [*stop.unfinished, *pending])
            raise
    for index, (item, repeat) in enumerate(pending):
        started = time.perf_counter()
        phase = _Phase()
        try:
            result = _run_one(item, repeat, repeats or item.repeats, out, deadline_s, phase)
        except KeyboardInterrupt:
            _write_interrupted(out, pending[index:])
            raise
        except Exception as err:  # any failure ends this benchmark run only
            seconds = time.perf_counter() - started
            state = NOT_APPLICABLE if isinstance(err, NotApplicable) else FAILED
            line = failure_line(err, phase.doing)
            if state == FAILED:
                _log_error(out, item, repeat, line, err)
            if on_result is not None:
                on_result(item, None, f"{state}: {line}" if state == NOT_APPLICABLE else line)
            _record_failure(out, item, state, f"{seconds:.1f}", line, err, pending[index + 1 :])
            continue
        try:
            _write_status(out, item.name, "ok", f"{time.perf_counter() - started:.1f}")
        except OSError as err:
            if not is_disk_full(err):
                raise
            raise DiskFull(
                f"the disk holding {out} is full: {item.name} ran and its results were kept, "
                f"but {STATUS} could not be written; free some space and re-run"
            ) from err
        results.append(result)
        if on_result is not None:
            on_result(item, result, "ok")
    return results


def _record_failure(
    out: Path,
    item: Item,
    state: str,
    seconds: str,
    line: str,
    err: BaseException,
    rest: Sequence[tuple[Item, int]],
) -> None:
    """A failed run's status row; on a full disk also the rest's rows, then :class:`DiskFull`."""
    try:
        _write_status(out, item.name, state, seconds, line)
        if is_disk_full(err):
            rows = [{"benchmark": other.name, "status": FAILED, "seconds": 0,
                     "message": "not run: the disk is full"} for other, _ in rest]  # fmt: skip
            writer.append_status(out, rows)
    except OSError as status_err:
        if not is_disk_full(status_err):
            raise
        raise DiskFull(
            f"the disk holding {out} is full: {item.name} failed ({line}), and even "
            f"{STATUS} could not be written, so it does not list {item.name} or the "
            f"{len(rest)} benchmark run(s) after it; free some space and re-run"
        ) from status_err
    if is_disk_full(err):
        raise DiskFull(
            f"the disk holding {out} is full: {item.name} failed ({line}); the "
            f"{len(rest)} benchmark run(s) after it were not run ({STATUS} lists them)"
        ) from err


def failed_benchmarks(out: Path) -> list[str]:
    """Names of the benchmark runs ``status.csv`` records as failed (not_applicable is not)."""
    return [row["benchmark"] for row in status_rows(out) if row.get("status") == FAILED]


__all__ = [
    "FAILED", "NOT_APPLICABLE", "DiskFull", "Item", "failed_benchmarks", "failure_line",
    "is_disk_full", "prepare_run_dir", "run_session", "span_cost_ns",
]  # fmt: skip
