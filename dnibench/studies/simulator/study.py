"""The simulator study: calibrated from each pipeline benchmark's spans, next to its measurement.

No kind of its own; it reads pipeline items (the simulator itself is
:mod:`dnibench.simulate`).
"""

from __future__ import annotations

from pathlib import Path

from dnibench.report.section import Section
from dnibench.studies.study import Study


def _simulated(run_dir: Path) -> Section | None:
    """The simulator out of sample (another m), then calibrated from each benchmark's own spans."""
    from dnibench.simulate.headline import simulator_section

    found = simulator_section(run_dir)
    return Section(found[0], verdicts=found[1]) if found is not None else None


STUDY = Study("simulator", rank=50, sections=(_simulated,))
