"""The shipped suites: each loads, expands to what it promises, and stays runnable.

``pipeline`` is its grid's only copy (``dnibench bench`` reads its base model
from it too), so it is checked for what the grid promises: every mode at its
microbatch counts on one base model, the repeats and the ratios; ``quick`` is
checked against its time budget, since it is the default of ``dnibench run``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch

from dnibench.data import Dataset
from dnibench.modes import Family, mode_names
from dnibench.pipeline import build_pipeline
from dnibench.stats import REPORT_SEEDS
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


def test_pipeline_suite_is_the_grid_it_promises() -> None:
    suite = load_suite("pipeline")
    assert suite.repeats == 3
    grid = [
        ((1, 4, 8), ("1f1b", "dni", "cdni", "unlock", "torch-interleaved-zb", "torch-zbv",
                     "zb", "torch-zb")),
        ((4, 8), ("torch-1f1b", "torch-dualpipev")),
        ((8,), ("gpipe", "torch-gpipe", "torch-interleaved-1f1b", "torch-looped-bfs")),
        ((1,), ("sequential",)),
        # The asynchronous modes (issue 24); PipeDream-2BW needs m >= K = 2.
        ((1, 4, 8), ("pipedream", "pipemare", "pipemare-plain", "dgl")),
        ((4, 8), ("pipedream-2bw",)),
    ]  # fmt: skip
    expected = {f"{mode}-m{m}": (mode, m) for ms, modes in grid for m in ms for mode in modes}
    singles = {f"single-{t}-m{m}": m for t in ("1t", "all") for m in (1, 4, 8)}
    twins = {"gpipe-m8-nospans": "gpipe", "dni-m8-nospans": "dni"}
    slowed = {"gpipe-m8-slow1": "gpipe", "torch-gpipe-m8-slow1": "torch-gpipe"}  # straggler
    mlp_items = [item for item in suite.items if not item.name.startswith("gpt-")]
    assert {item.name for item in mlp_items} == set(expected) | set(singles) | set(twins) | set(
        slowed
    )
    base = suite.item("gpipe-m8").spec
    assert base is not None
    for item in mlp_items:
        spec = item.spec
        assert spec is not None and item.kind == "pipeline"
        same = spec.with_(name=base.name, mode=base.mode, microbatches=base.microbatches,
                          threads=base.threads, spans=base.spans, slow_stage=base.slow_stage,
                          slow_factor=base.slow_factor)  # fmt: skip
        assert same == base, item.name  # one base model; only the grid keys vary
        if item.name in expected:
            assert (spec.mode, spec.microbatches, spec.threads) == (*expected[item.name], 1)
        elif item.name in singles:
            threads = 1 if "-1t-" in item.name else os.cpu_count()
            assert (spec.mode, spec.microbatches, spec.threads) == (
                "single",
                singles[item.name],
                threads,
            )
        elif item.name in slowed:
            assert (spec.mode, spec.microbatches, spec.slow_stage, spec.slow_factor) == (
                slowed[item.name], 8, 1, 3.0)  # fmt: skip
        else:
            assert (spec.mode, spec.microbatches, spec.spans) == (twins[item.name], 8, False)
        zb = spec.mode in ("zb", "torch-zb")
        assert item.repeats == (5 if zb else 3), item.name
    pairs = {(r.numerator, r.denominator) for r in suite.ratios}
    for m in (4, 8):
        assert {(f"dni-m{m}", f"zb-m{m}"), (f"dni-m{m}", f"1f1b-m{m}")} <= pairs
        assert {(f"zb-m{m}", f"1f1b-m{m}"), (f"zb-m{m}", f"torch-zb-m{m}")} <= pairs


def test_pipeline_suite_has_the_transformer_section() -> None:
    """Issue 23: own schedules, peers, dni, cdni, unlock at m = 1, 4, 8 on one gpt, K = 2."""
    suite = load_suite("pipeline")
    items = {item.name: item for item in suite.items if item.name.startswith("gpt-")}
    for m in (1, 4, 8):
        for mode in ("1f1b", "zb", "dni", "cdni", "unlock", "torch-zb", "torch-zbv"):
            assert f"gpt-{mode}-m{m}" in items
        assert {f"gpt-single-1t-m{m}", f"gpt-single-all-m{m}"} <= set(items)
    for m in (4, 8):
        assert {f"gpt-gpipe-m{m}", f"gpt-torch-gpipe-m{m}", f"gpt-torch-1f1b-m{m}"} <= set(items)
    base = items["gpt-1f1b-m8"].spec
    assert base is not None
    assert (base.model, base.data, base.width, base.depth) == ("gpt", "pystdlib", 256, 4)
    assert (base.input_shape, base.batch_size, base.stages, base.balance) == ((128,), 16, 2, (2, 3))
    assert base.sg.rank == 64
    for name, item in items.items():
        spec = item.spec
        assert spec is not None
        same = spec.with_(name=base.name, mode=base.mode, microbatches=base.microbatches,
                          threads=base.threads, balance=base.balance)  # fmt: skip
        assert same == base, name  # one transformer; only the grid keys vary
    pairs = {(r.numerator, r.denominator) for r in suite.ratios}
    assert ("gpt-dni-m8", "gpt-1f1b-m8") in pairs and ("gpt-zb-m8", "gpt-1f1b-m8") in pairs
    sample = torch.randint(0, 99, (2, 128))
    pipeline = build_pipeline(base.pipeline_config, base.regime, (128,), 99, sample)
    assert pipeline.activation_shapes[0] == (128, 256)


def test_ff_suite_is_accuracy_and_data_efficiency(digits: Dataset) -> None:
    suite = load_suite("ff")
    rivals = [item for item in suite.items if re.search(r"-m[148]-", item.name)]  # seeds 0-4
    assert all(
        item.kind == "train" and item.repeats == 3 for item in suite.items if item not in rivals
    )
    names = set(suite.names)
    for model in ("mlp", "conv1d"):
        for mode in ("backprop", "dni", "cdni", "unlock", "last-stage-only"):
            assert f"mnist1d-{model}-{mode}" in names
        for mode in ("backprop", "dni", *mode_names(Family.ASYNC), "last-stage-only"):
            assert f"mnist1d-{model}-m4-{mode}" in names
    for mode in ("backprop", "dni", *mode_names(Family.ASYNC), "last-stage-only"):
        assert f"mnist1d-mlp-m8-{mode}" in names
        # PipeDream-2BW needs m >= K = 3: at m = 1 it is left out, not refused at load
        assert (f"mnist1d-mlp-m1-{mode}" in names) == (mode != "pipedream-2bw")
    for item in rivals:
        assert item.train is not None
        assert f"-m{item.train.microbatches}-" in item.name
        seeds = [item.train.pipeline.seed + r for r in range(item.repeats)]
        assert tuple(seeds) == tuple(REPORT_SEEDS), item.name
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
