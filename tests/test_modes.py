"""The table of modes: every row is consistent with the code it names, and its rules hold.

The rows name schedule builders, regimes and PyTorch classes; these tests
hold each row to them, and check the one place each rule is written (world
size, the PyTorch microbatch rule) is the place specs and suites use.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from dnibench import modes
from dnibench.errors import UserError
from dnibench.modes import (
    BENCH_MODES,
    MODES,
    Family,
    MicrobatchRule,
    get_mode,
    mode_names,
    modes_of,
)
from dnibench.regimes.regime import REGIME_NAMES
from dnibench.runtimes.peer_schedules import why_not_applicable
from dnibench.runtimes.spec import BenchSpec
from dnibench.schedules import validate
from dnibench.suites import SuiteError, load_suite

SIZES = [(1, 1), (2, 1), (2, 4), (3, 2), (4, 8)]


def test_names_are_unique_and_every_row_is_reachable_by_name() -> None:
    assert len(set(BENCH_MODES)) == len(MODES)
    for mode in MODES:
        assert get_mode(mode.name) is mode


@pytest.mark.parametrize("mode", [m for m in MODES if m.builder is not None], ids=lambda m: m.name)
def test_every_schedule_row_builds_a_valid_schedule(mode: modes.Mode) -> None:
    for stages, microbatches in SIZES:
        for staleness in (0, 2):
            schedule = mode.build_schedule(stages, microbatches, staleness)
            validate(schedule)
            assert schedule.name == mode.name
            assert (schedule.num_stages, schedule.microbatches) == (stages, microbatches)
            assert schedule.forward_locked == (not mode.regime.synthetic_inputs)


def test_own_and_decoupled_rows_have_a_builder_and_peers_a_torch_class() -> None:
    for mode in MODES:
        assert (mode.builder is not None) == (mode.family is not Family.PEER)
        assert (mode.torch_class is not None) == (mode.family is Family.PEER)
        assert (mode.asynchronous is not None) == (mode.family is Family.ASYNC)
    assert mode_names(Family.OWN, Family.DECOUPLED) == modes.SCHEDULE_NAMES


@pytest.mark.parametrize("mode", modes_of(Family.PEER), ids=lambda m: m.name)
def test_every_peer_names_a_class_of_torch_distributed_pipelining(mode: modes.Mode) -> None:
    from torch.distributed import pipelining

    assert mode.torch_class is not None and hasattr(pipelining, mode.torch_class)
    assert mode.runtimes == (modes.DIST,)
    assert why_not_applicable(mode.name) is None
    if mode.simulated_as is not None:
        assert get_mode(mode.simulated_as).simulated


def test_families_and_regimes() -> None:
    assert modes.unlocked_mode_names() == mode_names(Family.DECOUPLED)
    for mode in MODES:
        assert mode.unlocked == (mode.family is Family.DECOUPLED)
        assert mode.regime.name in REGIME_NAMES
    # train --mode takes regimes: the table's regimes are all of them, in their order.
    assert modes.regime_names() == REGIME_NAMES
    # ... and the asynchronous modes, whose schedule the reference runtime replays.
    assert REGIME_NAMES + mode_names(Family.ASYNC) == modes.TRAIN_MODES
    assert modes.SCHEDULE_NAMES + mode_names(Family.ASYNC) == modes.SIMULATED_MODES
    assert set(modes.split_backward_mode_names()) == {
        "zb", "torch-zb", "torch-interleaved-zb", "torch-zbv", "torch-dualpipev"
    }  # fmt: skip


def test_world_size_rule() -> None:
    # BenchSpec.stages counts processes: one per stage, one for the single baseline; a
    # looped or V peer splits the model into stages_per_rank virtual stages per rank.
    assert get_mode("single").world_size(4) == 1
    assert get_mode("gpipe").world_size(4) == get_mode("dni").world_size(4) == 4
    assert get_mode("torch-1f1b").world_size(4) == get_mode("torch-1f1b").virtual_stages(4) == 4
    assert get_mode("torch-zbv").world_size(2) == 2
    assert get_mode("torch-zbv").virtual_stages(2) == 4
    spec = BenchSpec(name="x", mode="single", stages=3, depth=4)
    assert spec.world_size == 1 and spec.virtual_stages == 1
    spec = BenchSpec(name="y", mode="torch-interleaved-1f1b", depth=4, microbatches=4,
                     batch_size=16)  # fmt: skip
    assert spec.world_size == 2 and spec.virtual_stages == 4


def test_the_one_pytorch_microbatch_rule() -> None:
    # PyTorch's Schedule1F1B and ScheduleDualPipeV constructors refuse m < (virtual) stages;
    # the others take any m.
    at_least = [m.name for m in MODES if m.microbatch_rule is MicrobatchRule.AT_LEAST_STAGES]
    assert at_least == ["torch-1f1b", "torch-dualpipev", "pipedream-2bw"]
    # PipeDream-2BW's two buffers need m >= K: not applicable at m = 1 with K = 2.
    assert "pipedream-2bw needs at least" in (get_mode("pipedream-2bw").problem(2, 1) or "")
    assert get_mode("pipedream-2bw").problem(2, 2) is None
    assert get_mode("torch-1f1b").problem(4, 3) is not None
    assert get_mode("torch-1f1b").problem(4, 4) is None
    assert get_mode("torch-dualpipev").problem(2, 3) is not None  # 4 virtual stages
    assert get_mode("torch-dualpipev").problem(2, 4) is None
    assert get_mode("torch-gpipe").problem(4, 1) is None
    assert get_mode("gpipe").problem(4, 1) is None
    assert "at least 2 stages" in (get_mode("torch-gpipe").problem(1, 4) or "")


def test_the_microbatch_rule_is_refused_at_spec_and_suite_load(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="at least as many microbatches as stages"):
        BenchSpec(name="x", mode="torch-1f1b", stages=2, microbatches=1)
    path = tmp_path / "s.toml"
    path.write_text(
        '[suite]\ndescription = "t"\n\n[[benchmark]]\nname = "{mode}-m{microbatches}"\n'
        'kind = "pipeline"\nmode = "torch-dualpipev"\nmicrobatches = [2, 4]\n',
        encoding="utf-8",
    )
    with pytest.raises(SuiteError, match=r"torch-dualpipev-m2: .*at least as many microbatches"):
        load_suite(path)


def test_no_run_time_path_is_left_for_the_microbatch_rule() -> None:
    # What PyTorch refuses at run time depends on the installed torch alone: the check
    # takes no microbatch count, so no spec that passed its load can fail it for one.
    assert list(inspect.signature(why_not_applicable).parameters) == ["mode"]


def test_unknown_names_give_a_close_match() -> None:
    with pytest.raises(UserError, match=r"unknown mode 'torch-1fb1'.*Did you mean 'torch-1f1b'"):
        get_mode("torch-1fb1")
    with pytest.raises(UserError, match="Did you mean 'cdni'"):
        BenchSpec(name="x", mode="cdnii")
    assert modes.find_mode("cdnii") is None and modes.find_mode(None) is None
    assert not modes.is_unlocked("nothing") and modes.is_unlocked("unlock")


def test_streams_runs_what_the_table_says() -> None:
    for mode in MODES:
        microbatches = 4 if mode.family in (Family.PEER, Family.ASYNC) else 1
        spec = dict(name="x", mode=mode.name, microbatches=microbatches, runtime="streams")
        if modes.STREAMS in mode.runtimes:
            BenchSpec(**spec)  # type: ignore[arg-type]
        else:
            with pytest.raises(UserError, match='runtime = "dist"'):
                BenchSpec(**spec)  # type: ignore[arg-type]
