"""SIGTERM and SIGHUP stop a run the way Ctrl-C does.

``timeout``, CI runners, ``docker stop`` and systemd send SIGTERM; a closed
terminal sends SIGHUP. While :func:`stops_on_signals` wraps a command, either
signal raises :class:`SignalStop` (a ``KeyboardInterrupt``) in the main thread,
so the one Ctrl-C path runs: the benchmark in progress is stopped with its
ranks or ``--jobs`` workers, the rest is recorded as interrupted, the results
are kept and the report is written. The command then exits 128 + the signal's
number (:func:`dnibench.cli.exit_codes.interrupted_status`): 143 for SIGTERM,
129 for SIGHUP, 130 for Ctrl-C. The previous handlers come back afterwards.

Handlers can only be installed from the main thread; elsewhere (and for
signals this platform lacks) the command runs without them. A signal the
process inherited as ignored stays ignored (``nohup`` ignores SIGHUP on
purpose); SIGINT is never touched here: Python installs its Ctrl-C handler
only when SIGINT was not inherited as ignored (a background job of a script),
and dnibench keeps that choice.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import ParamSpec, TypeVar

Params = ParamSpec("Params")
Result = TypeVar("Result")

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class SignalStop(KeyboardInterrupt):
    """A stop asked for by a signal other than SIGINT; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise SignalStop(signum)


def stops_on_signals(command: Callable[Params, Result]) -> Callable[Params, Result]:
    """Decorate a command: SIGTERM and SIGHUP raise :class:`SignalStop` while it runs.

    Used by every command that runs benchmarks or training: ``run``, ``bench``, ``train``.
    """

    @functools.wraps(command)
    def wrapped(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        if threading.current_thread() is not threading.main_thread():
            return command(*args, **kwargs)
        previous = {
            signum: signal.signal(signum, _raise_stop)
            for signum in STOP_SIGNALS
            if signal.getsignal(signum) is not signal.SIG_IGN
        }
        try:
            return command(*args, **kwargs)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    return wrapped


__all__ = ["STOP_SIGNALS", "SignalStop", "stops_on_signals"]
