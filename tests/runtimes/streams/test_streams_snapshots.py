"""Evaluation snapshots on the streams runtime's CPU stand-in: correctness only.

The stand-in runs every stage in this process; its snapshots must give the
reference runtime's curve to the last digit for an exact schedule, and its
clocks are not reported as wall-clock figures (the ttq kind writes NaN).
"""

from __future__ import annotations

import math

from dnibench.optim import OptimConfig
from dnibench.runtimes.snapshot_eval import evaluate_snapshots
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.runner import run_streams
from dnibench.studies.ttq.run import TTQResult, curve_rows, wall_clock_valid
from dnibench.train import TrainConfig, train


def test_the_stand_in_curve_is_the_reference_curve_and_has_no_wall_clock() -> None:
    spec = BenchSpec(
        name="snap-streams",
        mode="1f1b",
        data="digits",
        model="mlp",
        width=16,
        depth=3,
        stages=2,
        microbatches=2,
        batch_size=32,
        steps=6,
        warmup=1,
        optim=OptimConfig(name="sgd", lr=0.1),
        timeout_s=60,
        seed=5,
        eval_every=3,
        runtime="streams",
        device="cpu",
    )
    result = run_streams(spec)
    curve = evaluate_snapshots(spec, result.ranks)
    config = TrainConfig(
        data=spec.data,
        mode="backprop",
        pipeline=spec.pipeline_config,
        batch_size=spec.batch_size,
        microbatches=spec.microbatches,
        steps=spec.steps,
        eval_every=spec.eval_every,
        threads=1,
    )
    reference = train(config).curve
    assert [p.samples for p in curve] == [p.samples for p in reference] == [96, 192]
    assert [p.test_loss for p in curve] == [p.test_loss for p in reference]
    assert [p.test_accuracy for p in curve] == [p.test_accuracy for p in reference]
    assert not wall_clock_valid(spec)
    rows = curve_rows(spec.name, TTQResult(result, curve, spec.seed), 0)
    assert all(math.isnan(float(str(r["wall_seconds"]))) for r in rows)
    assert all(float(str(r["cpu_seconds"])) > 0 for r in rows)
