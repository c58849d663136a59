"""The one-process replay of a pipeline benchmark trains what the ``dist`` pipeline trains.

At K = 2 on the same seed, with DNI's staleness bound 1 (the ttq suite's), the
replay of the order the ``dist`` ranks actually executed (read from their
spans) gives ``torch.equal`` parameters and the same evaluation curve to the
last digit: same code per stage, same per-stage order, so the same arithmetic.
The listed order (every delta at the bound) is what the K map's runs replay.
The asynchronous modes (pipedream, pipedream-2bw, pipemare, pipemare-plain,
dgl) decide nothing at run time, so their ``dist`` order is the listed one.
"""

from __future__ import annotations

import pytest
import torch

from dnibench.optim import OptimConfig
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.snapshot_eval import evaluate_snapshots
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.spec_replay import listed_orders, orders_from_spans, replay_spec
from dnibench.schedules import Op


def _spec(mode: str, stages: int = 2) -> BenchSpec:
    return BenchSpec(
        name=f"replay-{mode}",
        mode=mode,
        data="digits",
        model="mlp",
        width=16,
        depth=3,
        stages=stages,
        microbatches=4,
        batch_size=32,
        steps=6,
        warmup=1,
        staleness=1,
        optim=OptimConfig(name="adam", lr=1e-3),
        timeout_s=60,
        keep_parameters=True,
        eval_every=2,
    )


@pytest.mark.parametrize(
    "mode",
    ["1f1b", "dni", "unlock", "pipedream", "pipedream-2bw", "pipemare", "pipemare-plain", "dgl"],
)
def test_replay_of_the_dist_order_equals_the_dist_pipeline_at_k2(mode: str) -> None:
    spec = _spec(mode)
    ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
    orders = orders_from_spans(spec, ranks)
    assert [len(o) for o in orders] == [len(o) for o in listed_orders(spec)]
    if spec.mode_row.asynchronous is not None:  # a fixed schedule: no run-time choice of order
        assert orders == listed_orders(spec)
    replayed = replay_spec(spec, orders)
    for got, want in zip(replayed, ranks, strict=True):
        assert got.parameters.keys() == want.parameters.keys()
        for name, value in want.parameters.items():
            assert torch.equal(got.parameters[name], value), (mode, want.rank, name)
    ours, theirs = evaluate_snapshots(spec, replayed), evaluate_snapshots(spec, ranks)
    assert [p.samples for p in ours] == [p.samples for p in theirs] == [64, 128, 192]
    assert [p.test_accuracy for p in ours] == [p.test_accuracy for p in theirs]
    assert [p.test_loss for p in ours] == [p.test_loss for p in theirs]


def test_the_listed_order_puts_every_delta_at_the_staleness_bound() -> None:
    order = listed_orders(_spec("dni"))[0]
    ops = [(a.op, a.mb) for a in order[:8]]
    # F0 S0 F1 S1, then G0 before F2: delta 0 may stay outstanding over one forward.
    assert ops[:5] == [
        (Op.FORWARD, 0), (Op.SYNTH_BACKWARD, 0), (Op.FORWARD, 1), (Op.SYNTH_BACKWARD, 1),
        (Op.SG_UPDATE, 0),
    ]  # fmt: skip


def test_the_listed_replay_is_deterministic_and_snapshots_every_grid_point() -> None:
    spec = _spec("dni")
    a, b = replay_spec(spec), replay_spec(spec)
    for x, y in zip(a, b, strict=True):
        assert all(torch.equal(x.parameters[n], v) for n, v in y.parameters.items())
    assert len(a[0].snapshots) == 3
