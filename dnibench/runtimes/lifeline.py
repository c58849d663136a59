"""Children that die with their parent: ranks and ``run --jobs`` workers.

A child calls :func:`die_with_parent` first thing, before importing torch or
anything heavy, so that a parent killed at any moment (even ``kill -9`` just
after the spawn) leaves no child running. It asks the kernel for SIGKILL when
the parent dies (``prctl(PR_SET_PDEATHSIG)``), then checks that the parent it
was spawned by is still its parent: if the parent died before the request, the
child exits at once.

This module imports only the standard library (``ctypes``, ``os``, ``signal``):
importing it must stay cheap.

Limits: ``PR_SET_PDEATHSIG`` exists on Linux only. Elsewhere nothing is armed
(:func:`die_with_parent` returns ``False``) and only the parent's own clean-up
(SIGINT, SIGTERM, SIGHUP, an error) stops its children; a ``kill -9`` of the
parent there can leave them running. The kernel sends the signal when the
*thread* that spawned the child exits: dnibench spawns from the main thread.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
ORPHANED = 1
"""Exit status of a child that found its parent already gone (nobody reads it)."""


def _arm() -> bool:
    """Linux: SIGKILL this process when its parent exits. False where that cannot be asked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int) -> bool:
    """Die with the parent ``parent_pid``; exit at once if it is gone already.

    Returns whether the kernel will kill this process when the parent dies
    (False off Linux). Call it before any heavy import.
    """
    armed = _arm()
    if os.getppid() != parent_pid:
        os._exit(ORPHANED)
    return armed


def leave_signals_to_parent() -> None:
    """Ignore Ctrl-C and hang-up: the parent gets them too and stops its children itself.

    SIGTERM keeps its default action: it is how the parent stops a child.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


def worker_start(parent_pid: int) -> None:
    """Initializer of a ``run --jobs`` worker: die with the parent, leave signals to it."""
    die_with_parent(parent_pid)
    leave_signals_to_parent()


__all__ = ["ORPHANED", "die_with_parent", "leave_signals_to_parent", "worker_start"]
