"""Evaluation snapshots on the dist runtime: they change nothing, and match the reference.

Each stage copies its parameters after the update that consumes sample N
(:mod:`dnibench.runtimes.snapshots`); the parent composes the copies and
evaluates them (:mod:`dnibench.runtimes.snapshot_eval`). Turning evaluation
on must leave training bit for bit as it was, and for an exact schedule the
composed curve must be the reference runtime's curve (``dnibench.train``) on
the same seed, to the last digit.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from dnibench.optim import OptimConfig
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.held_out import load_held_out
from dnibench.runtimes.snapshot_eval import evaluate_snapshots
from dnibench.runtimes.spec import BenchSpec
from dnibench.train import TrainConfig, train


def _spec(mode: str, **changes: object) -> BenchSpec:
    return BenchSpec(
        name=f"snap-{mode}",
        mode=mode,
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
        keep_parameters=True,
        seed=3,
    ).with_(**changes)


# pipedream updates after every microbatch: its snapshots come from per-microbatch updates.
@pytest.mark.parametrize("mode", ["1f1b", "dni", "pipedream"])
def test_final_parameters_are_the_same_with_evaluation_on(mode: str) -> None:
    off = sorted(launch_local(_spec(mode), deadline_s=240), key=lambda r: r.rank)
    on = sorted(launch_local(_spec(mode, eval_every=2), deadline_s=240), key=lambda r: r.rank)
    assert all(not r.snapshots for r in off)
    assert all(len(r.snapshots) == 3 for r in on)  # steps 2, 4, 6
    for a, b in zip(off, on, strict=True):
        assert a.parameters.keys() == b.parameters.keys()
        for name, value in a.parameters.items():
            assert torch.equal(value, b.parameters[name]), (mode, a.rank, name)


@pytest.mark.parametrize("mode", ["1f1b", "zb", "torch-zb"])
def test_the_curve_of_an_exact_schedule_is_the_reference_curve(mode: str) -> None:
    spec = _spec(mode, eval_every=2, keep_parameters=False)
    ranks = launch_local(spec, deadline_s=240)
    curve = evaluate_snapshots(spec, ranks)
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
    assert [p.samples for p in curve] == [p.samples for p in reference] == [64, 128, 192]
    assert [p.test_loss for p in curve] == [p.test_loss for p in reference]
    assert [p.test_accuracy for p in curve] == [p.test_accuracy for p in reference]
    assert all(0 < a.wall_s <= b.wall_s for a, b in itertools.pairwise(curve))
    assert all(p.wall_with_eval_s > p.wall_s for p in curve)


# The decoder LM (issue 23's gpt) as the ttq suite's LM workload runs it: windows of a
# text file, the held-out windows cut to an even subset (dnibench.runtimes.held_out).
def _gpt_spec(mode: str, text: str, **changes: object) -> BenchSpec:
    return BenchSpec(
        name=f"snap-gpt-{mode}",
        mode=mode,
        data="text",
        text_path=text,
        model="gpt",
        width=16,
        depth=2,
        input_shape=(8,),
        stages=2,
        microbatches=2,
        batch_size=8,
        steps=4,
        warmup=1,
        optim=OptimConfig(name="adam", lr=0.01),
        timeout_s=60,
        keep_parameters=True,
        seed=5,
    ).with_(**changes)


@pytest.fixture
def corpus(tmp_path: Path) -> str:
    path = tmp_path / "corpus.txt"
    path.write_text("".join(f"def f{i}(x):\n    return x * {i} + 1\n" for i in range(300)))
    return str(path)


@pytest.mark.parametrize("mode", ["1f1b", "dni"])
def test_gpt_final_parameters_are_the_same_with_evaluation_on(mode: str, corpus: str) -> None:
    off_spec = _gpt_spec(mode, corpus)
    on_spec = _gpt_spec(mode, corpus, eval_every=2)
    off = sorted(launch_local(off_spec, deadline_s=240), key=lambda r: r.rank)
    on = sorted(launch_local(on_spec, deadline_s=240), key=lambda r: r.rank)
    assert all(not r.snapshots for r in off)
    assert all(len(r.snapshots) == 2 for r in on)  # steps 2, 4
    for a, b in zip(off, on, strict=True):
        assert a.parameters.keys() == b.parameters.keys() and a.parameters
        for name, value in a.parameters.items():
            assert torch.equal(value, b.parameters[name]), (mode, a.rank, name)


def test_the_gpt_curve_of_1f1b_is_the_reference_curve(corpus: str) -> None:
    spec = _gpt_spec("1f1b", corpus, eval_every=2, keep_parameters=False)
    ranks = launch_local(spec, deadline_s=240)
    curve = evaluate_snapshots(spec, ranks, held_out=12)
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
    reference = train(config, load_held_out(spec, 12)).curve
    assert [p.samples for p in curve] == [p.samples for p in reference] == [16, 32]
    assert [p.test_loss for p in curve] == [p.test_loss for p in reference]
    assert [p.test_accuracy for p in curve] == [p.test_accuracy for p in reference]
    assert 0 < curve[-1].test_accuracy < 1
