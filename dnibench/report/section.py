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


@dataclass(frozen=True)
class Section:
    """Markdown to append after the summary, and plots (name -> path) it drew."""

    markdown: str
    plots: dict[str, Path] = field(default_factory=dict)


__all__ = ["Section"]
