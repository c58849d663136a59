"""Decoupled regimes against the best exact schedule: paired verdicts and the decomposition.

**Paired verdicts.** For each decoupled regime, the per-seed ratio of its
wall seconds to target over the best exact schedule's (same seed: same
initialisation and data order), with the order-statistic interval of
:func:`dnibench.stats.paired`: "met" (faster) when the interval lies below 1,
"missed" (slower) when it lies above, "inconclusive" when it straddles 1.
The premise: the exact schedule reaches the target on every report seed;
otherwise "not testable". A regime that never reaches on a seed has ratio
+inf there, which pushes its interval up, as it should.

The best exact schedule is the exact one (dnibench's gpipe, 1f1b, zb or the
PyTorch peer) with the smallest median wall seconds to target among those
that reach it on every seed.

**Decomposition.** Time to target = samples to target / throughput. The
throughput comes from a separate steady-state launch of the same
configuration (a pipeline-kind benchmark without evaluation), not from the
ttq run, so the product is a prediction; the residual (measured minus
predicted) is what the two factors do not explain: start-up, warm-up, the
snapshot copies, and noise.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from dnibench.stats import Paired, Verdict, paired
from dnibench.studies.ttq.reach import median_interval


def reaches_everywhere(times: Mapping[int, float]) -> bool:
    return bool(times) and all(math.isfinite(v) for v in times.values())


def best_exact(times: Mapping[str, Mapping[int, float]]) -> str | None:
    """The exact schedule with the smallest median time among those reaching on every seed."""
    candidates = {name: t for name, t in times.items() if reaches_everywhere(t)}
    if not candidates:
        return None
    return min(candidates, key=lambda n: median_interval(list(candidates[n].values())).estimate)


@dataclass(frozen=True)
class PairedVerdict:
    """One decoupled regime against the best exact schedule."""

    verdict: Verdict
    premise: str
    result: Paired | None


def paired_verdict(
    treatment: Mapping[int, float], baseline: Mapping[int, float] | None, baseline_name: str
) -> PairedVerdict:
    """The verdict "treatment reaches the target sooner than the baseline" over paired seeds."""
    if baseline is None or not reaches_everywhere(baseline):
        why = (
            "no exact schedule reaches the target on every report seed"
            if baseline is None
            else f"{baseline_name} does not reach the target on every report seed"
        )
        return PairedVerdict(Verdict.NOT_TESTABLE, why, None)
    treated: dict[Hashable, float] = dict(treatment.items())
    base: dict[Hashable, float] = dict(baseline.items())
    result = paired(treated, base, relation="ratio")
    if result.interval.n == 0:
        return PairedVerdict(Verdict.NOT_MEASURED, "no seed in common", result)
    premise = f"{baseline_name} reaches the target on all {len(baseline)} seeds"
    return PairedVerdict(result.decide(1.0, "<"), premise, result)


@dataclass(frozen=True)
class Decomposition:
    """Samples to target / throughput against the measured time to target."""

    samples: float
    throughput: float
    measured: float

    @property
    def predicted(self) -> float:
        if not (self.throughput > 0) or math.isnan(self.samples):
            return math.nan
        return self.samples / self.throughput

    @property
    def residual(self) -> float:
        return self.measured - self.predicted

    @property
    def residual_share(self) -> float:
        return self.residual / self.measured if self.measured else math.nan


__all__ = ["Decomposition", "PairedVerdict", "best_exact", "paired_verdict", "reaches_everywhere"]
