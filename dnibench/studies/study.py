"""What a study is: suite kinds plus report sections, targets and verdicts, in one folder.

A study is a subpackage of :mod:`dnibench.studies` with a ``study`` module
that defines ``STUDY``, a :class:`Study`. It may declare kinds of benchmark
(how its items run) and report sections (what a run shows about it); a study
may read items of other kinds (gpu reads pipeline items that ran on streams).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dnibench.report.hooks import ReportHooks
from dnibench.report.section import Section
from dnibench.studies.kind import AnyKind

SectionFn = Callable[[Path], Section | None]
"""``(run_dir) -> Section | None``: None when the run holds nothing the section is about."""


@dataclass(frozen=True)
class Study:
    """One study: its kinds and its report sections, placed by ``rank``.

    Kinds are listed, and sections appear in reports, in the order of their
    studies' ranks (``section_rank`` when a study's sections go elsewhere).
    """

    name: str
    rank: int
    kinds: tuple[AnyKind, ...] = ()
    sections: tuple[SectionFn, ...] = ()
    section_rank: int | None = None
    hooks: ReportHooks | None = None
    """What the study adds to the generic run summary (a table column, run figures)."""


__all__ = ["SectionFn", "Study"]
