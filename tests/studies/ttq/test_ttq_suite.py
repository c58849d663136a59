"""suites/ttq.toml: the regimes it promises, its stated settings, a CI profile that fits."""

from __future__ import annotations

import pytest
import torch

from dnibench.errors import NotApplicable
from dnibench.models.gpt import HEAD_DIM
from dnibench.modes import CDNI, DNI, GPIPE, ONE_F_ONE_B, UNLOCK, ZB, Family, mode_names
from dnibench.stats import CALIBRATION_SEEDS
from dnibench.studies.ttq.keys import TTQConfig, seeds_of
from dnibench.studies.ttq.run import run_ttq
from dnibench.studies.ttq.section import MATCH_FIELDS
from dnibench.suites.rewrites import load_suite_profile

LM = "pystdlib-gpt"
#: What the LM workload promises: the exact schedules and the decoupled regimes.
LM_PROMISED = {GPIPE.name, ONE_F_ONE_B.name, ZB.name, DNI.name, CDNI.name, UNLOCK.name}
#: The other workloads add the asynchronous modes (issue 24).
PROMISED = LM_PROMISED | set(mode_names(Family.ASYNC))


@pytest.mark.parametrize(
    ("suite_name", "expected"),
    [("ttq", {"mnist1d-mlp", LM}), ("ttq-conv1d", {"mnist1d-conv1d"})],
)
def test_every_workload_runs_the_promised_regimes_on_the_report_seeds(
    suite_name: str, expected: set[str]
) -> None:
    suite = load_suite_profile(suite_name)
    ttq = [item for item in suite.items if item.kind == "ttq"]
    workloads: dict[str, set[str]] = {}
    for item in ttq:
        config = item.config
        assert isinstance(config, TTQConfig) and item.spec is not None
        assert config.target is not None and config.floor_best is not None
        assert config.floor_best < config.target
        assert seeds_of(item.spec, item.repeats) == [0, 1, 2, 3, 4]
        assert not set(seeds_of(item.spec, item.repeats)) & set(CALIBRATION_SEEDS)
        workloads.setdefault(config.workload, set()).add(item.spec.mode)
    assert set(workloads) == expected
    for workload, modes in workloads.items():
        # and one PyTorch peer; the LM has none (no committed gpt grid names one: see the suite)
        promised = LM_PROMISED if workload == LM else PROMISED
        assert modes >= promised and len(modes) == len(promised) + (workload != LM)


@pytest.mark.parametrize("suite_name", ["ttq", "ttq-conv1d"])
def test_every_ttq_benchmark_has_its_throughput_launch(suite_name: str) -> None:
    suite = load_suite_profile(suite_name)
    grid = [item.spec for item in suite.items if item.kind == "pipeline"]
    for item in suite.items:
        if item.kind != "ttq":
            continue
        spec = item.spec
        assert spec is not None
        assert any(
            all(getattr(other, f) == getattr(spec, f) for f in MATCH_FIELDS)
            for other in grid
            if other is not None
        ), item.name


def test_the_ci_profile_is_small() -> None:
    suite = load_suite_profile("ttq", "ci")
    kmap = [item for item in suite.items if item.kind == "kmap"]  # one-process replays
    # the MLP's 1f1b and dni, their throughput launches, and the LM's 1f1b twice
    assert sum(item.repeats for item in suite.items if item.kind != "kmap") <= 10
    assert sum(item.repeats for item in kmap) <= 3
    assert all(item.spec is not None and item.spec.steps <= 60 for item in suite.items)


def _lm_items(profile: str | None) -> list:
    suite = load_suite_profile("ttq", profile)
    return [item for item in suite.items if "lm-gpt-" in item.name]


def test_the_lm_workload_is_sized_for_the_toy_rule_and_its_budget() -> None:
    items = _lm_items(None)
    ttq = [item for item in items if item.kind == "ttq"]
    assert {item.spec.mode for item in ttq} == LM_PROMISED
    for item in ttq:
        spec, config = item.spec, item.config
        assert isinstance(config, TTQConfig) and spec is not None
        assert (spec.data, spec.model, spec.dtype, spec.stages) == ("pystdlib", "gpt", "fp32", 2)
        assert sum(spec.balance or ()) == spec.depth + 1  # embedding + blocks + head
        assert spec.steps % spec.eval_every == 0 and config.held_out > 0
        assert spec.batch_size % spec.microbatches == 0
    # the whole LM share: 6 regimes x 5 seeds and 6 x 2 throughput launches
    assert sum(item.repeats for item in items) == 6 * 5 + 6 * 2


def test_the_gpu_profile_runs_the_lm_alone_in_bf16_on_one_gpu() -> None:
    items = _lm_items("gpu")
    assert sum(item.repeats for item in items) == 12  # one seed a regime, one throughput launch
    ttq = {item.spec.mode: item for item in items if item.kind == "ttq"}
    tput = {item.spec.mode: item for item in items if item.kind == "pipeline"}
    assert set(ttq) == set(tput) == LM_PROMISED
    for mode, item in ttq.items():
        spec = item.spec
        assert (spec.runtime, spec.device, spec.dtype) == ("streams", "cuda", "bf16")
        assert spec.width % HEAD_DIM == 0 and sum(spec.balance or ()) == spec.depth + 1
        assert spec.steps % spec.eval_every == 0
        other = tput[mode].spec
        assert all(getattr(other, f) == getattr(spec, f) for f in MATCH_FIELDS), mode
        assert other.input_shape == spec.input_shape and other.dtype == spec.dtype


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_the_gpu_profile_is_refused_as_not_applicable_without_a_gpu() -> None:
    item = next(item for item in _lm_items("gpu") if item.kind == "ttq")
    with pytest.raises(NotApplicable, match="needs a CUDA GPU"):
        run_ttq(item.spec, 0, None, 64)
