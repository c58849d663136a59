"""Choose a workload's target on the calibration seeds, and check it is a fair target.

The target is :data:`~dnibench.studies.ttq.keys.TARGET_SHARE` times the
median, over the calibration seeds (100-102, never the report seeds), of
1f1b's best held-out accuracy on the pipeline. Two checks keep it honest:

- the last-stage-only floor (the same net with every stage but the last
  frozen at its initial weights, trained on the reference runtime on the same
  data and seeds) must not reach it: otherwise training the hidden stages is
  not what the target measures;
- 1f1b must reach it no sooner than 25% of the budget (median over the
  calibration seeds): otherwise the target is trivially early and says
  nothing about the time to a good model.

``tools/ttq_calibrate.py SUITE`` runs this for each workload of a suite and
prints the values to write into it (``calibration_best``, ``floor_best``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from dnibench.modes import ONE_F_ONE_B
from dnibench.runtimes.held_out import load_held_out
from dnibench.runtimes.spec import BenchSpec
from dnibench.stats import CALIBRATION_SEEDS
from dnibench.studies.ttq.keys import TARGET_SHARE
from dnibench.studies.ttq.run import run_ttq
from dnibench.target_reach import first_reach
from dnibench.train import TrainConfig, train

EARLIEST_SHARE = 0.25


@dataclass(frozen=True)
class Calibration:
    """What the calibration seeds gave for one workload."""

    best: list[float]
    floor_best: list[float]
    reach_share: list[float]
    """Per seed, the share of the budget 1f1b needed to reach the target (inf: never)."""

    @property
    def calibration_best(self) -> float:
        return statistics.median(self.best)

    @property
    def target(self) -> float:
        return TARGET_SHARE * self.calibration_best

    @property
    def floor(self) -> float:
        return statistics.median(self.floor_best)

    @property
    def problems(self) -> list[str]:
        """Why the target is unfit ([] when it is fit)."""
        found = []
        if self.floor >= self.target:
            found.append(f"the floor's median best {self.floor:.4f} reaches the target")
        share = statistics.median(self.reach_share)
        if not share >= EARLIEST_SHARE:
            found.append(f"1f1b reaches the target after {share:.0%} of the budget (< 25%)")
        return found


def floor_best(spec: BenchSpec, seed: int, held_out: int = 0) -> float:
    """Best held-out accuracy of the last-stage-only floor on the reference runtime."""
    dataset = load_held_out(spec, held_out, seed)
    pipeline = spec.with_(seed=seed).pipeline_config
    config = TrainConfig(
        data=spec.data,
        mode=ONE_F_ONE_B.regime.name,
        pipeline=pipeline,
        batch_size=spec.batch_size,
        microbatches=spec.microbatches,
        steps=spec.steps,
        eval_every=spec.eval_every,
        frozen_stages=spec.stages - 1,
        threads=spec.threads,
    )
    return max(p.test_accuracy for p in train(config, dataset).curve)


def calibrate(
    spec: BenchSpec, seeds: Sequence[int] = CALIBRATION_SEEDS, held_out: int = 0
) -> Calibration:
    """Run 1f1b (``spec``) and the floor on ``seeds``; the target's figures."""
    runs = [run_ttq(spec.with_(seed=seed), 0, None, held_out) for seed in seeds]
    best = [run.best for run in runs]
    target = TARGET_SHARE * statistics.median(best)
    budget = spec.steps * spec.batch_size
    shares = []
    for run in runs:
        points = [(p.samples, p.samples, p.test_accuracy) for p in run.curve]
        first, _ = first_reach(points, target, higher_is_better=True)
        shares.append(math.inf if math.isnan(first) else first / budget)
    return Calibration(best, [floor_best(spec, seed, held_out) for seed in seeds], shares)


__all__ = ["EARLIEST_SHARE", "Calibration", "calibrate", "floor_best"]
