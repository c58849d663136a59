"""What both simulate commands share: sweep defaults, input checks and the all-or-nothing write.

``dnibench simulate`` (:mod:`dnibench.cli.simulate`) and its ``--predict`` form
(:mod:`dnibench.cli.crosscheck`) read the same kind of source run and write a new
run directory the same way; keeping those pieces here lets the simulate command
dispatch to the cross-check without the two importing each other.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dnibench.errors import UserError
from dnibench.rundir.reader import has_traces

T = TypeVar("T")

DEFAULT_STAGES = "2,4,8,16,32,64,128,256,512,1024"
DEFAULT_MICROBATCHES = "1,4,8,32"
DEFAULT_SG_RELATIVE = "0.05,0.1,0.5"


def check_source(source: Path) -> None:
    if not source.is_dir():
        raise UserError(f"--from {source}: no such run directory; point at a `dnibench run` output")
    if not has_traces(source):
        raise UserError(f"--from {source}: no traces/ directory; run the suite with spans on")


def check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out} already exists and is not empty; choose a new directory")


def write_new_dir(out: Path, write: Callable[[Path], T]) -> T:
    """Run ``write`` on a hidden staging directory beside ``out``, then rename it to ``out``.

    Either the whole output directory appears or none of it: a failure or
    Ctrl-C part-way removes the staging directory and leaves ``out`` as it was.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result = write(staging)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


__all__ = [
    "DEFAULT_MICROBATCHES", "DEFAULT_SG_RELATIVE", "DEFAULT_STAGES", "check_out", "check_source",
    "write_new_dir",
]  # fmt: skip
