"""One kmap launch: a ttq configuration trained in one process, replaying the pipeline's order.

Why one process: samples to target at K = 3 and 4 is a property of the
training trajectory, not of the clock, and this machine has two cores; the
replay (:mod:`dnibench.runtimes.spec_replay`) trains what a K-stage ``dist``
pipeline trains, the staleness bound and each stage's update order included
(every delta at the bound). The curve is composed from the stages' snapshots
by the pipeline's own evaluation, so it reads like a ttq curve; its clocks are
one process's and mean nothing for a pipeline (NaN in ``curves.csv``): the
K map takes throughput from the simulator instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from dnibench.runtimes.snapshot_eval import EvalPoint, evaluate_snapshots
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.spec_replay import replay_spec
from dnibench.studies.ttq.keys import TTQConfig
from dnibench.studies.ttq.reach import reach


@dataclass
class KmapResult:
    """The evaluated curve of one replayed launch, and its seed."""

    spec: BenchSpec
    curve: list[EvalPoint]
    seed: int

    @property
    def best(self) -> float:
        return max((p.test_accuracy for p in self.curve), default=math.nan)


def run_kmap(spec: BenchSpec, repeat: int) -> KmapResult:
    """Replay repeat ``repeat`` (seed ``seed + repeat``) of ``spec`` and evaluate its snapshots."""
    seeded = spec.with_(seed=spec.seed + repeat)
    return KmapResult(seeded, evaluate_snapshots(seeded, replay_spec(seeded)), seeded.seed)


def kmap_curve_rows(name: str, result: KmapResult, repeat: int) -> list[dict[str, object]]:
    """curves.csv rows (the ttq columns); the clocks are NaN: one process ran every stage."""
    return [
        {
            "benchmark": name,
            "repeat": repeat,
            "step": p.step,
            "samples": p.samples,
            "seconds": math.nan,
            "train_loss": p.train_loss,
            "test_loss": p.test_loss,
            "test_accuracy": p.test_accuracy,
            "wall_seconds": math.nan,
            "wall_seconds_with_eval": math.nan,
            "cpu_seconds": math.nan,
        }
        for p in result.curve
    ]


def kmap_rows(config: TTQConfig, result: KmapResult, repeat: int) -> list[dict[str, object]]:
    """results.csv rows: the seed, the best accuracy, the target and samples to it (NaN: never)."""
    spec = result.spec
    base = {
        "benchmark": config.spec.name,
        "mode": spec.mode,
        "stages": spec.world_size,
        "microbatches": spec.microbatches,
        "stage": -1,
        "repeat": repeat,
    }
    values = [("seed", float(result.seed), "seed"), ("best_test_accuracy", result.best, "ratio")]
    target = config.target
    if target is not None:
        curve = pd.DataFrame(kmap_curve_rows(config.spec.name, result, repeat))
        got = reach(curve, target) if not curve.empty else None
        values.append(("target", target, "ratio"))
        if got is not None:
            values.append(("samples_to_target", got.samples, "samples"))
    return [
        {**base, "metric": m, "value": float(v) if math.isfinite(v) else math.nan, "unit": u}
        for m, v, u in values
    ]


__all__ = ["KmapResult", "kmap_curve_rows", "kmap_rows", "run_kmap"]
