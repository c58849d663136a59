"""The train kind trains an asynchronous mode as the one-process pipeline replay does, and
refuses an impossible one when the suite loads, naming the entry."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
import torch

import dnibench.train
from dnibench.modes import DNI, PIPEDREAM, PIPEDREAM_2BW, PIPEMARE, Family, mode_names
from dnibench.pipeline import Pipeline
from dnibench.runtimes.snapshot_eval import evaluate_snapshots
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.spec_replay import replay_spec
from dnibench.studies.train.asynchronous import is_asynchronous
from dnibench.studies.train.study import KIND
from dnibench.suites.loader import SuiteError, load_suite
from dnibench.train import TrainConfig

SUITE = """[suite]
description = "t"
[[benchmark]]
name = "{name}"
kind = "train"
data = "digits"
model = "mlp"
width = 16
stages = 3
batch_size = 16
microbatches = {m}
steps = 5
eval_every = 2
"""


def write(tmp_path: Path, name: str, mode: str, m: int = 4, extra: str = "") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SUITE.format(name=name, m=m) + f'mode = "{mode}"\n' + extra)
    return path


def equivalent_spec(config: TrainConfig, seed: int) -> BenchSpec:
    """The dist pipeline benchmark that trains what ``config`` trains (warm-up steps are
    only a pipeline's clock: the replay trains every step)."""
    p = config.pipeline
    return BenchSpec(
        name="replayed", mode=config.mode, data=config.data, model=p.model, width=p.width,
        stages=p.stages, microbatches=config.microbatches, batch_size=config.batch_size,
        steps=config.steps, warmup=0, optim=p.optim, seed=seed, eval_every=config.eval_every,
    )  # fmt: skip


@pytest.mark.parametrize("mode", mode_names(Family.ASYNC))
def test_the_train_kind_trains_what_the_pipeline_replay_trains(tmp_path: Path, mode: str) -> None:
    """Same final parameters (torch.equal) and the same held-out curve as
    :func:`replay_spec` on the equivalent BenchSpec, repeat 1 being seed 1."""
    (item,) = load_suite(write(tmp_path, f"t-{mode}", mode)).items
    built: list[Pipeline] = []
    prepare = dnibench.train.prepare

    def spy(*args: object, **kwargs: object) -> object:
        dataset, pipeline = prepare(*args, **kwargs)  # type: ignore[arg-type]
        built.append(pipeline)
        return dataset, pipeline

    with mock.patch.object(dnibench.train, "prepare", spy):
        result = KIND.compute(item, 1, None)
    assert item.train is not None
    spec = equivalent_spec(item.train, seed=1)
    ranks = replay_spec(spec)
    (pipeline,) = built
    for stage, rank in zip(pipeline.stages, ranks, strict=True):
        state = stage.module.state_dict()
        assert state.keys() == rank.parameters.keys()
        for name, value in rank.parameters.items():
            assert torch.equal(state[name], value), f"{mode} stage {rank.rank} {name}"
    curve = evaluate_snapshots(spec, ranks)
    assert [p.samples for p in curve] == [p.samples for p in result.curve] == [32, 64, 80]
    assert [p.test_accuracy for p in curve] == [p.test_accuracy for p in result.curve]
    assert all(p.seconds > 0 for p in result.curve)  # the training thread's CPU seconds


def test_the_modes_the_replay_trains_are_the_asynchronous_rows() -> None:
    assert is_asynchronous(PIPEMARE.name) and not is_asynchronous(DNI.name)
    assert not is_asynchronous("not a mode")


def test_2bw_below_k_microbatches_fails_at_load_naming_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "too-few", PIPEDREAM_2BW.name, m=2)
    with pytest.raises(SuiteError, match=r"too-few: .*at least as many microbatches as stages"):
        load_suite(path)


def test_frozen_stages_with_an_asynchronous_mode_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, "frozen", PIPEDREAM.name, extra="frozen_stages = 2\n")
    with pytest.raises(SuiteError, match="frozen: frozen_stages applies to regimes"):
        load_suite(path)


def test_a_layer_the_mode_refuses_fails_at_load_with_the_reason(tmp_path: Path) -> None:
    """(Which layers PipeMare refuses is its own test's business: a stand-in refusal.)"""
    path = write(tmp_path, "refused", PIPEMARE.name)
    refusal = ValueError("pipemare runs Linear ... layers only")
    with (
        mock.patch.object(dnibench.train, "prepare", side_effect=refusal),
        pytest.raises(SuiteError, match="refused: pipemare on the mlp model: pipemare runs"),
    ):
        load_suite(path)


def test_a_regime_is_not_built_at_load(tmp_path: Path) -> None:
    with mock.patch.object(dnibench.train, "prepare") as prepare:
        (item,) = load_suite(write(tmp_path, "regime", DNI.name, m=1)).items
    assert not prepare.called and item.train is not None and item.train.mode == DNI.name
