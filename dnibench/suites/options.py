"""Checks of ``dnibench run``'s options that no item rewrite makes, run before anything runs.

The rewrites (:mod:`dnibench.suites.rewrites`) check the options that change
items; what is left is where the run goes (``--out``) and how often each
benchmark runs (``--repeats``, whose launch numbers end up in file names).
Each check raises a :class:`~dnibench.errors.UserError` (exit 2) that names the
option, so a run that cannot finish is refused before its first benchmark.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dnibench.errors import UserError
from dnibench.suites.loader import name_too_long
from dnibench.suites.schema import SuiteItem


def check_out(out: Path) -> None:
    """``out`` is a folder dnibench can create and write into (nothing is created here).

    The folder itself if it exists, else its nearest existing parent, must be a
    writable folder: a file in the way or a read-only file system is said now,
    not as a traceback once the run starts.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder: choose another --out")
    folder = out
    while not folder.exists():
        if folder.is_symlink():  # a dangling link: creating the folder would follow it
            raise UserError(f"--out {out}: {folder} is a symbolic link to nowhere")
        parent = folder.parent
        if parent == folder:
            break
        folder = parent
    if not folder.is_dir():
        raise UserError(f"--out {out}: {folder} is a file, so no folder can be made under it")
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "a read-only file system" if _read_only(folder) else "no write permission"
        raise UserError(f"--out {out}: cannot write in {folder} ({why}); choose another --out")


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_repeats(items: Sequence[SuiteItem], repeats: int | None) -> None:
    """``--repeats``: at least 1, and every benchmark's file names still fit at that count."""
    if repeats is None:
        return
    if repeats < 1:
        raise UserError(f"--repeats must be at least 1, got {repeats}")
    for item in items:
        problem = name_too_long(item.name, repeats)
        if problem is not None:
            raise UserError(f"--repeats {repeats}: benchmark {problem}")


def check_applies(
    items: Sequence[SuiteItem], jobs: int, all_traces: bool, repeats: int | None
) -> None:
    """``--jobs`` and ``--all-traces`` refused when they would change nothing in this run.

    As for ``--text-path`` on a run without an rnn benchmark: an option that is
    silently ignored lets a user believe it did something.
    """
    from dnibench.studies.registry import benchmark_kind

    if jobs > 1 and not any(benchmark_kind(item.kind).side_by_side(item) for item in items):
        raise UserError(
            f"--jobs {jobs} runs one-thread rnn, copy and train benchmarks side by side, and "
            "this run holds none (everything else runs alone): drop --jobs"
        )
    traced = [item for item in items if benchmark_kind(item.kind).pipeline]
    if all_traces and not any((repeats or item.repeats) > 1 for item in traced):
        why = "runs each once" if traced else "holds none"
        raise UserError(
            "--all-traces keeps the trace of every launch of a pipeline benchmark, not only the "
            f"first, and this run {why}: drop --all-traces"
        )


__all__ = ["check_applies", "check_out", "check_repeats"]
