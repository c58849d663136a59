"""What studies plug into the generic run report, so rendering imports no study.

The run report's summary is generic (one table per kind of row, the run
figures), but two parts of it are a study's: the pipeline table's
"HW-limit efficiency" column and extra run figures (the pipeline study's
steady-state timelines). Rendering defines these extension points here;
:mod:`dnibench.studies.registry` fills them from the studies and callers pass
them in. Without hooks the column reads as not measured and the figures are
left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dnibench.rundir.reader import RunData

PlotMaker = Callable[["RunData", Path | None], Path | None]
"""``(run, out_dir) -> saved PNG`` or None when the run has nothing to draw."""


@dataclass(frozen=True)
class ReportHooks:
    """A study's additions to the run summary (see the module docstring)."""

    hardware_limit: Callable[[RunData, str], float] | None = None
    """A pipeline benchmark's HW-limit efficiency (NaN when it has no base)."""
    plots: Mapping[str, PlotMaker] = field(default_factory=dict)
    """Run figures by name; they appear in ``PLOT_NAMES`` order."""

    def merged(self, other: ReportHooks) -> ReportHooks:
        """These hooks with ``other``'s added (``other`` wins where both set one)."""
        return ReportHooks(
            hardware_limit=other.hardware_limit or self.hardware_limit,
            plots={**self.plots, **other.plots},
        )


__all__ = ["PlotMaker", "ReportHooks"]
