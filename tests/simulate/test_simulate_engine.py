"""The simulator against the closed forms of pipeline schedules, exactly."""

from __future__ import annotations

import math

import pytest

from dnibench.simulate import (
    LinkModel,
    PipelineCosts,
    SimConfig,
    StageCosts,
    predict,
    simulate,
)
from dnibench.simulate.programs import OP_F, OP_G

EQUAL = StageCosts(forward=1.0, backward=2.0, synth_backward=2.0)


def run(name: str, K: int, m: int, costs: StageCosts = EQUAL, **config: object):
    pipeline = config.pop("pipeline", None) or PipelineCosts.uniform(K, costs)
    return simulate(SimConfig(name, K, m, **config), pipeline)  # type: ignore[arg-type]


@pytest.mark.parametrize("K, m", [(2, 1), (2, 8), (4, 4), (5, 3), (8, 16), (16, 2)])
@pytest.mark.parametrize("name", ["gpipe", "1f1b"])
def test_flushed_schedules_have_the_gpipe_bubble(name: str, K: int, m: int) -> None:
    prediction = predict(run(name, K, m))
    bubble = (K - 1) / (m + K - 1)
    assert prediction.efficiency == pytest.approx(1 - bubble, abs=1e-12)
    for k in range(K):
        # Nothing but compute and lock waits: each stage's idle share is the bubble.
        assert prediction.idle_fraction[k] == pytest.approx(bubble, abs=1e-12)
        assert prediction.busy_fraction[k] + prediction.idle_fraction[k] == pytest.approx(1.0)


@pytest.mark.parametrize("K, m", [(2, 8), (4, 4), (8, 3), (8, 16)])
def test_1f1b_holds_at_most_k_microbatches_and_gpipe_m(K: int, m: int) -> None:
    one_f = predict(run("1f1b", K, m))
    assert one_f.activation_memory == min(K, m)
    assert one_f.peak_in_flight == tuple(min(K - k, m) for k in range(K))
    assert predict(run("gpipe", K, m)).activation_memory == m


@pytest.mark.parametrize("K, m", [(2, 4), (4, 4), (4, 8), (8, 16)])
def test_zb_leaves_only_the_forward_warm_up_bubble_at_the_memory_of_1f1b(K: int, m: int) -> None:
    """ZB-H1 with D = W = F (B = D + W), m >= K: a step lasts 3m + (K-1), 1F1B's 3m + 3(K-1)."""
    zb, one_f = run("zb", K, m, steps=3, warmup=1), run("1f1b", K, m, steps=3, warmup=1)
    assert zb.step_end[:, 0].max() == pytest.approx(3 * m + (K - 1))
    assert one_f.step_end[:, 0].max() == pytest.approx(3 * m + 3 * (K - 1))
    assert predict(zb).activation_memory == predict(one_f).activation_memory == min(K, m)
    # Every stage's busy time per step is the same F + D + W per microbatch.
    assert zb.busy[:, 1] == pytest.approx([3.0 * m] * K)


def test_a_zb_straggler_slows_both_halves() -> None:
    slow = run(
        "zb",
        2,
        4,
        steps=3,
        warmup=1,
        pipeline=PipelineCosts.uniform(2, EQUAL).with_straggler(1, 2.0),
    )
    assert slow.busy[1, 1] == pytest.approx(2 * 3.0 * 4)
    assert slow.busy[0, 1] == pytest.approx(3.0 * 4)


@pytest.mark.parametrize("K", [1, 2, 3, 8])
def test_sequential_is_k_times_slower_than_ideal(K: int) -> None:
    prediction = predict(run("sequential", K, 4))
    assert prediction.efficiency == pytest.approx(1 / K, abs=1e-12)
    assert prediction.throughput == pytest.approx(1 / (3 * K), abs=1e-12)


@pytest.mark.parametrize("K, m", [(2, 1), (4, 8), (16, 4)])
def test_complete_unlock_with_equal_stages_never_waits(K: int, m: int) -> None:
    # Equal stages: the first has no SI and the last no SG, so they make up for it elsewhere.
    middle = StageCosts(forward=1.0, backward=2.0, synth_backward=2.0, sg_update=0.5, si_update=0.5)
    first = middle.scaled(forward=1.5)
    last = middle.scaled(backward=1.25)
    stages = [first, *[middle] * (K - 2), last] if K > 1 else [middle]
    for pipeline in (PipelineCosts.uniform(K, EQUAL), PipelineCosts.of(stages)):
        prediction = predict(run("unlock", K, m, pipeline=pipeline, staleness=1))
        assert max(prediction.idle_fraction) == 0.0
        assert prediction.efficiency == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("staleness", [1, 4])
@pytest.mark.parametrize("K, m", [(2, 8), (8, 4)])
def test_dni_with_free_sg_has_no_gradient_waits_in_steady_state(
    K: int, m: int, staleness: int
) -> None:
    prediction = predict(run("dni", K, m, staleness=staleness))
    assert max(prediction.wait_gradient_fraction) == 0.0
    assert max(prediction.wait_activation_fraction) == 0.0
    assert prediction.efficiency == pytest.approx(1.0, abs=1e-12)


def test_dni_without_staleness_waits_for_every_delta() -> None:
    # Staleness 0: G(j) precedes F(j+1), and the delta needs the stage below's F and B.
    prediction = predict(run("dni", 2, 8, staleness=0))
    assert prediction.wait_gradient_fraction[0] > 0
    assert prediction.efficiency < 1


@pytest.mark.parametrize("factor", [1.5, 2.0])
@pytest.mark.parametrize("straggler", [0, 2])
def test_a_straggler_slows_complete_unlock_by_its_factor(factor: float, straggler: int) -> None:
    balanced = PipelineCosts.uniform(4, EQUAL)
    slowed = balanced.with_straggler(straggler, factor)
    config = {"staleness": 2, "steps": 8, "warmup": 4}
    base = predict(run("unlock", 4, 4, pipeline=balanced, **config)).throughput
    slow = predict(run("unlock", 4, 4, pipeline=slowed, **config)).throughput
    assert slow == pytest.approx(base / factor, rel=1e-12)


def test_links_add_latency_plus_bytes_over_bandwidth_per_message() -> None:
    link = LinkModel(latency=0.25, bandwidth=4000.0, message_bytes=1000.0)
    assert link.delay == 0.5
    free = predict(run("sequential", 2, 1))
    linked = predict(run("sequential", 2, 1, pipeline=PipelineCosts.uniform(2, EQUAL, link)))
    # One activation down and one gradient up per microbatch, each delayed 0.5.
    assert 1 / linked.throughput == pytest.approx(1 / free.throughput + 2 * link.delay, abs=1e-12)


def test_send_and_overhead_are_charged_to_their_stage() -> None:
    costs = StageCosts(forward=1.0, backward=2.0, send=0.1, overhead=0.05)
    prediction = predict(run("sequential", 2, 1, costs))
    # On the critical path: both sends, and the overheads of stage 0's F and U and stage 1's
    # B; the others are paid while their stage waits anyway (overhead comes before a wait).
    assert 1 / prediction.throughput == pytest.approx(6 + 2 * 0.1 + 3 * 0.05, abs=1e-12)
    assert prediction.comm_fraction[0] > 0 and prediction.overhead_fraction[1] > 0


@pytest.mark.parametrize(
    "name, K, m", [("1f1b", 8, 4), ("gpipe", 6, 3), ("dni", 5, 4), ("unlock", 7, 2)]
)
def test_five_steps_reach_steady_state(name: str, K: int, m: int) -> None:
    # Uneven stages and costly links, so a transient would show.
    stages = [
        StageCosts(
            forward=1 + 0.3 * k,
            backward=2 + 0.1 * k,
            synth_backward=1.5,
            sg_update=0.2,
            si_update=0.3,
            optimizer=0.7,
            send=0.05,
            overhead=0.01,
        )
        for k in range(K)
    ]
    pipeline = PipelineCosts.of(stages, LinkModel(latency=0.2))
    short = predict(run(name, K, m, pipeline=pipeline, staleness=2))
    long = predict(run(name, K, m, pipeline=pipeline, staleness=2, steps=12, warmup=6))
    assert short.throughput == pytest.approx(long.throughput, rel=1e-9)


def test_p_update_skips_backwards_reproducibly() -> None:
    full = predict(run("dni", 4, 8, staleness=2))
    half = run("dni", 4, 8, staleness=2, p_update=0.5, seed=3)
    again = run("dni", 4, 8, staleness=2, p_update=0.5, seed=3)
    assert predict(half).throughput == predict(again).throughput
    assert predict(half).throughput > full.throughput
    assert predict(run("dni", 4, 8, staleness=2, p_update=0.5, seed=4)).throughput != (
        predict(half).throughput
    )
    with pytest.raises(ValueError, match="unlocked"):
        SimConfig("gpipe", 2, 4, p_update=0.5)


def test_early_sg_updates_only_when_the_runtime_can_see_arrivals() -> None:
    def first_g_before_forward(sees: bool) -> int:
        result = run("dni", 2, 8, staleness=6, sees_arrivals=sees, record=True)
        assert result.timeline is not None
        stage0 = [(op, mb, start) for k, op, mb, start, _ in result.timeline if k == 0]
        g0 = next(start for op, mb, start in stage0 if op == OP_G and mb == 0)
        return sum(1 for op, _, start in stage0 if op == OP_F and start < g0)

    # nccl-like: G0 runs as soon as the delta is in; gloo-like: where the schedule lists it.
    assert first_g_before_forward(True) < first_g_before_forward(False) == 7


def test_bad_configs_are_rejected() -> None:
    with pytest.raises(ValueError, match="warmup"):
        SimConfig("gpipe", 2, 2, steps=3, warmup=3)
    with pytest.raises(ValueError, match="3 stages"):
        simulate(SimConfig("gpipe", 2, 2), PipelineCosts.uniform(3, EQUAL))
    with pytest.raises(ValueError, match="finite"):
        StageCosts(forward=math.nan)
    with pytest.raises(ValueError, match="bandwidth"):
        LinkModel(bandwidth=0)


@pytest.mark.parametrize("K, m", [(2, 1), (4, 1), (4, 8), (8, 2)])
@pytest.mark.parametrize("name", ["pipedream", "pipemare", "dgl"])
def test_asynchronous_modes_have_no_bubble_in_steady_state(name: str, K: int, m: int) -> None:
    """No flush (or no backward lock, DGL): after the warm-up every stage is busy all the time."""
    prediction = predict(run(name, K, m, steps=12, warmup=4))
    assert prediction.efficiency == pytest.approx(1.0, abs=1e-9)
    if name == "dgl":
        assert run(name, K, m).wait_gradient.sum() == 0.0


def test_pipedream_2bw_beats_1f1b_by_the_flush() -> None:
    two_bw = predict(run("pipedream-2bw", 4, 4, steps=12, warmup=4))
    assert two_bw.efficiency == pytest.approx(1.0, abs=1e-9)
    assert predict(run("1f1b", 4, 4, steps=12, warmup=4)).efficiency < 0.7
