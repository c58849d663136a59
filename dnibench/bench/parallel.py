"""Run one-thread recurrent benchmarks side by side: ``dnibench run --jobs N``.

Why: every ``rnn`` and ``copy`` run trains on one thread, so a machine with N
cores can run N of them at once and finish a seeded suite N times sooner.
Their figures stay honest when they share the machine: data efficiency is
counted in characters, and a character-LM run's seconds are its training
thread's own CPU seconds (see :mod:`dnibench.studies.recurrent.lm_bench`), which
another process on another core does not inflate. A training (``train``) run
on one thread times its thread's CPU too (:mod:`dnibench.train`) and goes side by
side; one on more threads, and pipeline benchmarks, time every core and run alone.

Workers compute; only the parent writes the run directory, in the order runs
finish, so rows never interleave. Ctrl-C (or SIGTERM, SIGHUP: see
:mod:`dnibench.cli.signals`) stops the workers, records what did not finish as
interrupted and re-raises; a worker that dies marks its run failed and the
rest go on in a fresh pool. Each worker dies with the parent: it arms that in
its initializer (:func:`dnibench.runtimes.lifeline.worker_start`, which imports
no torch) before it unpickles its first task, so a parent killed with
``kill -9`` leaves no worker training.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from dnibench.errors import UserError
from dnibench.runtimes.lifeline import worker_start
from dnibench.studies.item import Item
from dnibench.studies.registry import benchmark_kind

Status = Callable[[Item, str, float, str], None]
LogError = Callable[[Item, int, str, BaseException], None]
"""(item, repeat, its one line, the error): where a failed run's full traceback goes."""


def _compute(item: Item, repeat: int) -> tuple[object, float]:
    """In a worker: one run of a parallel kind (see BenchmarkKind.parallel) and its wall seconds."""
    import time

    started = time.perf_counter()
    result = benchmark_kind(item.kind).compute(item, repeat, None)
    return result, time.perf_counter() - started


def run_parallel(
    pending: Sequence[tuple[Item, int]],
    jobs: int,
    record: Callable[[Item, int, object], None],
    status: Status,
    log_error: LogError | None = None,
) -> list[object]:
    """Run ``pending`` (item, repeat) pairs ``jobs`` at a time; ``record`` writes a result.

    Every item's kind must be a parallel one (``BenchmarkKind.parallel``). A run
    that raised in its worker gets its one line in ``status`` and its full
    traceback (the worker's own frames, which the error carries) in ``log_error``.
    """
    results: list[object] = []
    queue = list(pending)
    context = multiprocessing.get_context("spawn")
    while queue:
        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=worker_start,
            initargs=(os.getpid(),),
        ) as pool:
            running: dict[Future[tuple[object, float]], tuple[Item, int]] = {}
            try:
                while queue or running:
                    while queue and len(running) < jobs:
                        item, repeat = queue.pop(0)
                        future = pool.submit(_compute, item, repeat)
                        running[future] = (item, repeat)
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        item, repeat = running.pop(future)
                        try:
                            result, seconds = future.result()
                        except BrokenProcessPool:
                            status(item, "failed", 0.0, "its worker process died")
                            raise
                        except Exception as err:  # the run's own failure: record, go on
                            message = str(err) if isinstance(err, UserError) else repr(err)
                            if log_error is not None:
                                log_error(item, repeat, message, err)
                            status(item, "failed", 0.0, message)
                            continue
                        try:
                            record(item, repeat, result)
                        except Exception as err:  # its rows could not be written: record, go on
                            status(item, "failed", seconds, str(err))
                            continue
                        results.append(result)
                        status(item, "ok", seconds, "")
            except BrokenProcessPool:
                # The other runs of the dead pool go back on the queue, in order.
                queue[:0] = [pair for pair in running.values()]
                continue
            except KeyboardInterrupt as stop:
                # Stop the workers first (shutdown forgets them), then let the pool go.
                workers = list((getattr(pool, "_processes", None) or {}).values())
                for process in workers:
                    process.terminate()
                for process in workers:
                    process.join(timeout=10)
                pool.shutdown(wait=False, cancel_futures=True)
                signum = getattr(stop, "signum", signal.SIGINT)
                raise ParallelInterrupted([*running.values(), *queue], signum) from None
    return results


class ParallelInterrupted(KeyboardInterrupt):
    """Ctrl-C (or ``signum``) during a parallel run, with the (item, repeat) pairs not finished."""

    def __init__(self, unfinished: list[tuple[Item, int]], signum: int = signal.SIGINT) -> None:
        super().__init__()
        self.unfinished = unfinished
        self.signum = int(signum)


__all__ = ["ParallelInterrupted", "run_parallel"]
