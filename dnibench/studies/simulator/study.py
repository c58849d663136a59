"""The simulator study: calibrated from each pipeline benchmark's spans, next to its measurement.

No kind of its own; it reads pipeline items (the simulator itself is
:mod:`dnibench.simulate`).
"""

from __future__ import annotations

from pathlib import Path

from dnibench.report.section import Section
from dnibench.studies.study import Study


def _simulated(run_dir: Path) -> Section | None:
    """The simulator calibrated from each pipeline benchmark's spans, next to its measurement."""
    from dnibench.simulate.validate import validation_section

    markdown = validation_section(run_dir)
    return Section(markdown) if markdown is not None else None


STUDY = Study("simulator", rank=50, sections=(_simulated,))
