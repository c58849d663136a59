"""One extra part of a report: Markdown and the plots it drew.

A kind of benchmark (the recurrent runs, the GPU runs, the simulator's
check) contributes its own tables and figures to a run's report as a
:class:`Section`. The type lives alone, below every module that makes one,
so a contributor imports it without importing the registry that collects
the contributions (:mod:`dnibench.studies.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dnibench.report.findings import VerdictRecord


@dataclass(frozen=True)
class Section:
    """Markdown to append after the summary, the plots (name -> path) it drew, its verdicts.

    ``verdicts`` feed the findings the report opens with and the run's
    verdicts file (:mod:`dnibench.report.findings`).
    """

    markdown: str
    plots: dict[str, Path] = field(default_factory=dict)
    verdicts: tuple[VerdictRecord, ...] = ()


__all__ = ["Section"]
