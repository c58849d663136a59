"""The watchdog of a benchmark that trains in this process (``train``, ``rnn``, ``copy``).

A pipeline benchmark's stages are watched by their own threads
(:class:`~dnibench.runtimes.harness.Watchdog`), and a stuck rank is ended
from outside. A one-process benchmark trains in the calling thread itself,
so nothing outside it can end it: :func:`watched` counts its optimiser steps
(every ``torch.optim`` optimiser, through torch's global step hook, so the
training loops need no change) and, once none has run for ``timeout_s``,
raises :class:`BenchmarkHung` in the training thread. The session then
records that benchmark as failed and goes on, as for any other failure.

How: the watchdog thread sends SIGALRM to the main thread, whose handler
raises. A signal wakes a sleeping or waiting thread and is handled at the
next Python instruction, so a hang anywhere in Python (a loop, a sleep, a
wait on a lock) is caught; a hang inside one native call that never
returns is not (the session's process would need killing from outside).
The time before the first step (loading data, building the model) counts
too, so a timeout must leave room for it. Handlers can only be installed
from the main thread: elsewhere the
benchmark runs unwatched. ``run --jobs`` workers run their benchmark in
their main thread, so they are watched too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dnibench.runtimes.harness import RankFailure, Watchdog

HANG_SIGNAL = signal.SIGALRM


class BenchmarkHung(RankFailure):
    """A one-process benchmark made no optimiser step for its ``timeout_s``."""


@contextmanager
def watched(name: str, timeout_s: float) -> Iterator[None]:
    """Run the block under a watchdog: :class:`BenchmarkHung` after ``timeout_s`` without a step."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from torch.optim.optimizer import register_optimizer_step_post_hook

    steps = [0]
    hung_for: list[float] = []

    def count(*_: object) -> None:
        steps[0] += 1

    def on_hang(seconds: float) -> None:  # the watchdog thread
        hung_for.append(seconds)
        main = threading.main_thread().ident
        if main is not None:
            signal.pthread_kill(main, HANG_SIGNAL)

    def raise_hung(_signum: int, _frame: FrameType | None) -> None:  # the main thread
        if hung_for:
            raise BenchmarkHung(
                f"{name} hung: no training step for {hung_for[0]:.0f} s (timeout_s {timeout_s:g})",
                stage=-1,
            )

    handle = register_optimizer_step_post_hook(count)
    previous = signal.signal(HANG_SIGNAL, raise_hung)
    try:
        with Watchdog(timeout_s, lambda: steps[0], on_hang):
            yield
    finally:
        handle.remove()
        signal.signal(HANG_SIGNAL, previous)


__all__ = ["HANG_SIGNAL", "BenchmarkHung", "watched"]
