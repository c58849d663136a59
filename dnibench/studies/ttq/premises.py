"""The toy-size premise, and a paired verdict written as a record for the findings.

**Toy sizes are ruled out** (issue 22): a pipeline whose per-stage compute
per microbatch is not at least :data:`TOY_RATIO` times the measured
per-message overhead measures its messages, not its schedule, so its
time-to-target comparisons say nothing a user with a real model could use.
The ttq run measures the ratio per launch (:mod:`dnibench.studies.ttq.run`);
a workload's ratio is the median over its regimes of each regime's median
over seeds, so one regime timed on a busy machine does not decide it alone.
When it falls short, every paired verdict of that workload reads "not
testable", with the ratio in the reason.

Every paired verdict also becomes a :class:`VerdictRecord`, so the ttq
verdicts reach the report's findings and the verdicts file as every other
study's do.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from dnibench.report.findings import VerdictRecord, record_of_interval
from dnibench.stats import Verdict
from dnibench.studies.ttq.compare import PairedVerdict

STUDY = "ttq"
TOY_RATIO = 10.0
"""Per-stage compute per microbatch must be at least this many times the per-message overhead."""
DECIDED = (Verdict.MET, Verdict.MISSED, Verdict.INCONCLUSIVE)


def toy_ratio(ratios: Sequence[float]) -> float:
    """A workload's compute/message ratio: the median of its regimes' finite ratios (NaN: none)."""
    finite = [r for r in ratios if math.isfinite(r)]
    return statistics.median(finite) if finite else math.nan


def toy_reason(ratio: float) -> str | None:
    """Why ``ratio`` fails the toy-size premise, or None (also when it was not measured)."""
    if not math.isfinite(ratio) or ratio >= TOY_RATIO:
        return None
    return (
        f"toy size: per-stage compute per microbatch is {ratio:.1f}x the per-message overhead "
        f"(at least {TOY_RATIO:g}x needed)"
    )


def verdict_record(claim: str, got: PairedVerdict) -> VerdictRecord:
    """``got`` as a record: decided ones with their interval, the others with their reason."""
    if got.result is not None and got.verdict in DECIDED:
        return record_of_interval(
            STUDY, claim, got.result.interval, 1.0, "<", method="paired by seed"
        )
    interval = got.result.interval if got.result is not None else None
    # The reason a premise failed, or why the regime could not run at all.
    premise = got.premise if got.verdict in (Verdict.NOT_TESTABLE, Verdict.NOT_APPLICABLE) else ""
    return VerdictRecord(
        STUDY,
        claim,
        f"{got.verdict}: {got.premise}" if got.premise else str(got.verdict),
        estimate=interval.estimate if interval else math.nan,
        low=interval.low if interval else math.nan,
        high=interval.high if interval else math.nan,
        level=interval.level if interval else math.nan,
        method="paired by seed" if interval else "",
        n=interval.n if interval else 0,
        goal=1.0,
        better="<",
        premise=premise,
    )


__all__ = ["STUDY", "TOY_RATIO", "toy_ratio", "toy_reason", "verdict_record"]
