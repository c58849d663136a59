"""Statistics every verdict reads through: the seed rule and one interval helper.

Verdicts compare regimes over seeds (paired by seed) or over launches
(paired launch by launch when interleaved, else bootstrapped). Keeping the
rule in one place means every report decides "met", "missed" or
"inconclusive" the same way, and tests can check it on hand-made tables.
"""

from dnibench.stats.intervals import (
    Interval,
    Paired,
    bootstrap_interval,
    bootstrap_ratio_interval,
    order_statistic_interval,
    paired,
)
from dnibench.stats.seed_rule import CALIBRATION_SEEDS, REPORT_SEEDS, check_disjoint
from dnibench.stats.words import Verdict

__all__ = [
    "CALIBRATION_SEEDS",
    "REPORT_SEEDS",
    "Interval",
    "Paired",
    "Verdict",
    "bootstrap_interval",
    "bootstrap_ratio_interval",
    "check_disjoint",
    "order_statistic_interval",
    "paired",
]
