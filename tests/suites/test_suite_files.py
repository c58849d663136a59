"""The shipped suites: each loads, expands to what it promises, and stays runnable.

``pipeline`` is checked against the code-defined grid spec by spec, so the
two cannot drift apart; ``quick`` is checked against its time budget, since it
is the default of ``dnibench run``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnibench.bench.grids import pipeline_grid
from dnibench.data import Dataset
from dnibench.pipeline import build_pipeline
from dnibench.suites import Suite, load_suite, package_suites_dir
from dnibench.train import prepare

SHIPPED = sorted(package_suites_dir().glob("*.toml"))


def test_the_expected_suites_ship() -> None:
    assert {path.stem for path in SHIPPED} >= {"quick", "pipeline", "ff"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_suite_loads(path: Path) -> None:
    before = path.read_bytes()
    suite = load_suite(path)
    assert path.read_bytes() == before
    assert suite.name == path.stem and suite.description
    assert suite.items and len(set(suite.names)) == len(suite.names)
    for item in suite.items:
        if item.kind == "pipeline":
            assert item.spec is not None and item.train is None
            assert item.runtime == item.spec.runtime and item.runtime in ("dist", "streams")
        elif item.kind == "train":
            assert item.train is not None and item.spec is None
            assert item.runtime == "reference"
    for ratio in suite.ratios:
        assert {ratio.numerator, ratio.denominator} <= set(suite.names)


def test_quick_expands_to_the_expected_benchmarks() -> None:
    suite = load_suite("quick")
    assert suite.names == [
        "sequential-m4", "gpipe-m4", "1f1b-m4", "dni-m4", "unlock-m4", "single-1t-m4",
        "digits-backprop", "digits-dni",
    ]  # fmt: skip
    assert [(r.numerator, r.denominator, r.metric) for r in suite.ratios] == [
        ("dni-m4", "1f1b-m4", "throughput"),
        ("dni-m4", "gpipe-m4", "throughput"),
        ("unlock-m4", "sequential-m4", "throughput"),
        ("gpipe-m4", "single-1t-m4", "throughput"),
        ("dni-m4", "single-1t-m4", "throughput"),
    ]
    spec = suite.item("dni-m4").spec
    assert spec is not None
    assert (spec.width, spec.depth, spec.input_shape, spec.balance) == (512, 4, (512,), (2, 3))
    assert (spec.batch_size, spec.microbatches, spec.staleness) == (128, 4, 4)
    assert spec.sg.width == 64 and spec.si.width == 64 and spec.data == "synthetic"
    train = suite.item("digits-dni")
    assert train.train is not None and train.target_accuracy == 0.95
    assert (train.train.data, train.train.pipeline.stages, train.train.steps) == ("digits", 3, 300)


def _estimated_seconds(suite: Suite) -> float:
    """A pessimistic 2-core estimate: start-up plus steps per pipeline run, steps per train run."""
    seconds = 5.0  # interpreter and torch import
    for item in suite.items:
        if item.spec is not None:
            spec = item.spec
            # ~0.1 s per step for 1024 wide x batch 256; cost scales with width^2 x batch.
            step = 0.1 * (spec.width or 256) ** 2 * spec.batch_size / (1024**2 * 256)
            seconds += item.repeats * (3.0 + 3 * step * spec.steps)
        else:
            assert item.train is not None
            seconds += item.repeats * 0.05 * item.train.steps
    return seconds


def test_quick_stays_within_its_budget() -> None:
    suite = load_suite("quick")
    assert all(item.train is None or item.train.data == "digits" for item in suite.items)
    assert all(item.spec is None or item.spec.data == "synthetic" for item in suite.items)
    assert _estimated_seconds(suite) < 150  # of the 3 minutes, leave room for the report


def test_quick_pipelines_and_trainings_build(digits: Dataset) -> None:
    suite = load_suite("quick")
    for item in suite.items:
        if item.spec is not None:
            config = item.spec.pipeline_config
            sample = torch.randn(4, *item.spec.input_shape)
            pipeline = build_pipeline(config, item.spec.regime, item.spec.input_shape, 10, sample)
            assert len(pipeline.stages) == item.spec.world_size
            if item.spec.world_size > 1:
                assert pipeline.balance == list(item.spec.balance or ())
        else:
            assert item.train is not None
            _, pipeline = prepare(item.train, digits)
            assert len(pipeline.stages) == 3


def test_pipeline_suite_reproduces_the_code_grid() -> None:
    suite = load_suite("pipeline")
    assert suite.repeats == 3
    specs, repeats = pipeline_grid()
    assert set(suite.names) == {spec.name for spec in specs}
    for spec in specs:
        assert suite.item(spec.name).spec == spec, spec.name
        assert suite.item(spec.name).repeats == repeats.get(spec.name, 3), spec.name
    assert repeats.keys() >= {"zb-m4", "zb-m8", "torch-zb-m4", "torch-zb-m8"}
    assert all(times >= 5 for times in repeats.values())
    pairs = {(r.numerator, r.denominator) for r in suite.ratios}
    for m in (4, 8):
        assert {(f"dni-m{m}", f"zb-m{m}"), (f"dni-m{m}", f"1f1b-m{m}")} <= pairs
        assert {(f"zb-m{m}", f"1f1b-m{m}"), (f"zb-m{m}", f"torch-zb-m{m}")} <= pairs


def test_ff_suite_is_accuracy_and_data_efficiency(digits: Dataset) -> None:
    suite = load_suite("ff")
    assert all(item.kind == "train" and item.repeats == 3 for item in suite.items)
    names = set(suite.names)
    for model in ("mlp", "conv1d"):
        for mode in ("backprop", "dni", "cdni", "unlock", "last-stage-only"):
            assert f"mnist1d-{model}-{mode}" in names
    for item in suite.items:
        assert item.train is not None
        config = item.train
        assert config.eval_every == 50
        baseline = item.name.endswith("last-stage-only")
        assert config.frozen_stages == (config.pipeline.stages - 1 if baseline else 0)
        if config.data == "mnist1d":
            assert (config.pipeline.stages, config.steps) == (3, 1500)
        else:
            assert (config.data, config.pipeline.stages, config.steps) == ("digits", 4, 600)
            _, pipeline = prepare(config, digits)
            assert len(pipeline.stages) == 4
