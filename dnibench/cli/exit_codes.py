"""The exit statuses of every ``dnibench`` command, and their text for ``--help``.

One list, so ``dnibench --help`` and ``dnibench run --help`` describe the same
statuses the commands return, and a CI job can rely on them.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130
EXIT_CODES = """exit status:
  0    success
  1    check found a regression
  2    usage error: a bad flag, suite, name or path (the message names it and the fix);
       check: a damaged run directory, or no comparison had enough data to decide
  3    run: a benchmark failed (every result and the report are still written);
       --allow-failures exits 0 instead. Benchmarks this machine cannot run (too few
       GPUs) are recorded as not_applicable and are not failures
  130  interrupted (Ctrl-C): results so far are kept"""

__all__ = [
    "EXIT_CODES", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_REGRESSION", "EXIT_USAGE",
]  # fmt: skip
