"""The CI regression gate.

``check_runs(baseline, current)`` compares two run directories written by
``dnibench bench`` and says, per benchmark and metric, whether the current
run regressed beyond noise and beyond a relative threshold. (The
pytest-benchmark export of a run lives in :mod:`dnibench.export`.)
"""

from __future__ import annotations

from dnibench.gate.check import (
    DEFAULT_ALPHA,
    DEFAULT_RATIO_THRESHOLD,
    DEFAULT_THRESHOLD,
    DIRECTIONS,
    RatioSpec,
    Threshold,
    check_runs,
    compare_samples,
    ratio_samples,
)
from dnibench.gate.report import CheckReport, GateRow, Verdict

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_RATIO_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "DIRECTIONS",
    "CheckReport",
    "GateRow",
    "RatioSpec",
    "Threshold",
    "Verdict",
    "check_runs",
    "compare_samples",
    "ratio_samples",
]
