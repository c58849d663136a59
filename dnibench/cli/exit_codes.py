"""The exit statuses of every ``dnibench`` command, and their text for ``--help``.

One list, so ``dnibench --help`` and ``dnibench run --help`` describe the same
statuses the commands return, and a CI job can rely on them.
"""

from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_HANGUP = 128 + signal.SIGHUP  # 129
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
EXIT_CODES = """exit status:
  0    success
  1    check found a regression
  2    usage error: a bad flag, suite, name or path (the message names it and the fix);
       check: a damaged run directory, or no comparison had enough data to decide
  3    run: a benchmark failed (every result and the report are still written);
       --allow-failures exits 0 instead. Benchmarks this machine cannot run (too few
       GPUs) are recorded as not_applicable and are not failures
  129  run, bench, train: stopped by SIGHUP (terminal closed), as by Ctrl-C
  130  interrupted (Ctrl-C): results so far are kept; run stops its ranks and workers,
       records the rest as interrupted and writes the report
  143  run, bench, train: stopped by SIGTERM (timeout, CI, docker stop, systemd), as by
       Ctrl-C"""


def interrupted_status(stop: BaseException) -> int:
    """The exit status of a run stopped by ``stop``: 128 + its signal (130 for Ctrl-C).

    A stop raised by a signal handler carries ``signum``
    (:class:`dnibench.cli.signals.SignalStop`, and the ``--jobs`` runner's
    ``ParallelInterrupted``); a plain ``KeyboardInterrupt`` is Ctrl-C.
    """
    signum = getattr(stop, "signum", None)
    return 128 + int(signum) if isinstance(signum, int) else EXIT_INTERRUPTED


__all__ = [
    "EXIT_CODES", "EXIT_FAILED", "EXIT_HANGUP", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REGRESSION",
    "EXIT_TERMINATED", "EXIT_USAGE", "interrupted_status",
]  # fmt: skip
