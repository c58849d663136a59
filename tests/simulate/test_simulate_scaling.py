"""Re-splitting a measured model over K stages, and reading thresholds off a sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.simulate.costs import LinkModel, StageCosts
from dnibench.simulate.scaling import (
    ModelCosts,
    SweepSettings,
    first_below,
    model_costs_from_run,
    not_applicable,
    overtake,
    simulate_point,
    sweep,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pipeline-run"
MODEL = ModelCosts(
    forward=2.0,
    backward=4.0,
    optimizer=1.0,
    sg_update=0.3,
    si_forward=0.1,
    si_update=0.2,
    send=0.05,
    overhead=0.01,
    link=LinkModel(latency=0.02),
    calibrated_stages=2,
    microbatch_size=4,
    sees_arrivals=False,
    source="test",
)


def test_strong_scaling_splits_compute_and_keeps_per_stage_costs() -> None:
    strong = MODEL.pipeline(8, scaling="strong").stages[3]
    weak = MODEL.pipeline(8, scaling="weak").stages[3]
    assert (strong.forward, strong.backward, strong.optimizer) == (0.25, 0.5, 0.125)
    assert (weak.forward, weak.backward, weak.optimizer) == (1.0, 2.0, 0.5)
    for stage in (strong, weak):
        assert (stage.sg_update, stage.send, stage.overhead) == (0.3, 0.05, 0.01)
    assert MODEL.pipeline(2, scaling="strong") == MODEL.pipeline(2, scaling="weak")
    assert MODEL.sg_relative == pytest.approx(0.1)
    assert MODEL.pipeline(4, sg_relative=0.5).stages[0].sg_update == pytest.approx(1.5)


def test_straggler_slows_forward_and_backward_only() -> None:
    costs = StageCosts(forward=1, backward=2, synth_backward=3, sg_update=4, optimizer=5, send=6)
    slowed = costs.slowed(1.5)
    assert (slowed.forward, slowed.backward, slowed.synth_backward) == (1.5, 3.0, 4.5)
    assert (slowed.sg_update, slowed.optimizer, slowed.send) == (4, 5, 6)


def test_unlocked_points_outlast_their_staleness() -> None:
    settings = SweepSettings(staleness=4, steps=5, warmup=2)
    short = simulate_point(MODEL, "dni", 16, 1, settings)
    # With 5 microbatches in all, every SG update would fall after the window; the point
    # is run long enough that they land in it, so they cost throughput.
    free = simulate_point(
        ModelCosts(**{**MODEL.__dict__, "sg_update": 0.0}), "dni", 16, 1, settings
    )
    assert short.prediction.throughput < free.prediction.throughput


def test_thresholds_and_overtake_from_a_sweep() -> None:
    points = sweep(MODEL, ["1f1b", "dni"], [2, 4, 8, 16, 32], [2], SweepSettings(staleness=2))
    k = first_below(points, "1f1b", 2, "pipeline")
    assert k is not None
    below = {p.stages for p in points if p.mode == "1f1b" and p.prediction.efficiency < 0.5}
    assert k == min(below)
    assert first_below(points, "dni", 2, "pipeline") is None
    dni = {(p.stages, 2): p.prediction.throughput for p in points if p.mode == "dni"}
    one_f = {(p.stages, 2): p.prediction.throughput for p in points if p.mode == "1f1b"}
    start = overtake(dni, one_f, 2)
    assert start is not None
    assert all(dni[(K, 2)] > one_f[(K, 2)] for K in (2, 4, 8, 16, 32) if start <= K)


def test_model_costs_from_the_frozen_run() -> None:
    model = model_costs_from_run(FIXTURE)
    assert model.calibrated_stages == 2 and model.microbatch_size == 32
    assert model.forward > 0 and model.backward > model.forward
    assert model.sg_update > 0  # from dni-m8's trace
    assert model.si_update == 0  # the frozen run keeps no unlock trace
    assert not model.sees_arrivals  # gloo


def test_a_combination_the_mode_refuses_is_not_simulated() -> None:
    settings = SweepSettings(scaling="weak")
    # pipedream-2bw needs m >= K (docs/async.md): K = 2 at m = 1 is no run at all.
    with pytest.raises(UserError, match="not applicable: pipedream-2bw needs at least as many"):
        simulate_point(MODEL, "pipedream-2bw", 2, 1, settings)
    points = sweep(MODEL, ["pipedream-2bw", "1f1b"], [2, 4], [1, 4], settings)
    got = {(p.mode, p.stages, p.microbatches) for p in points}
    assert got == {("pipedream-2bw", 2, 4), ("pipedream-2bw", 4, 4)} | {
        ("1f1b", k, m) for k in (2, 4) for m in (1, 4)
    }
    refused = not_applicable(["pipedream-2bw", "1f1b"], [2, 4], [1, 4])
    assert [r.split(":")[0] for r in refused] == [
        "pipedream-2bw at K = 2, m = 1", "pipedream-2bw at K = 4, m = 1",
    ]  # fmt: skip
