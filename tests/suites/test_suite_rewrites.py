"""Item rewrites: suite profiles ([profile.NAME]) and the rehearsal fault on the gpu-quick
suite, a slowed stage on quick, and the command line's corpus on rnn."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.suites import SuiteError, load_suite
from dnibench.suites.rewrites import (
    load_suite_profile,
    profile_names,
    with_data,
    with_fault,
    with_slow_stage,
)


def test_the_cpu_profile_keeps_every_name_and_ratio_and_moves_everything_to_the_stand_in() -> None:
    plain = load_suite("gpu-quick")
    cpu = load_suite_profile("gpu-quick", "cpu")
    assert profile_names("gpu-quick") == ["cpu"]
    assert cpu.names == plain.names and cpu.ratios == plain.ratios
    assert all(item.spec is not None and item.spec.device == "cuda" for item in plain.items)
    assert all(item.spec is not None and item.spec.device == "cpu" for item in cpu.items)
    large, small = cpu.item("streams-dni-m8").spec, cpu.item("streams-dni-m8-small").spec
    assert large is not None and small is not None
    assert large.width == 32 and small.width == 16  # the per-entry override wins
    assert load_suite_profile("gpu-quick", None).names == plain.names


def test_gpu_quick_covers_every_regime_at_both_sizes_with_its_baselines() -> None:
    suite = load_suite("gpu-quick")
    specs = {item.name: item.spec for item in suite.items}
    for suffix in ("", "-small"):
        for mode in ("sequential", "gpipe", "1f1b", "dni", "cdni", "unlock"):
            for m in (1, 8):
                spec = specs[f"streams-{mode}-m{m}{suffix}"]
                assert spec is not None and spec.stages == 4 and spec.runtime == "streams"
        assert specs[f"streams-single-m8{suffix}"] is not None
    assert specs["streams-dni-m8-nvml-off"].nvml is False  # type: ignore[union-attr]
    assert all(item.repeats == 3 for item in suite.items)
    pairs = {(r.numerator, r.denominator) for r in suite.ratios}
    for mode in ("dni", "unlock"):
        assert (f"streams-{mode}-m1", "streams-sequential-m1") in pairs
        assert (f"streams-{mode}-m8", "streams-single-m8") in pairs
        assert (f"streams-{mode}-m8", "streams-1f1b-m8") in pairs


def _suite(tmp_path: Path, profile: str) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(
        '[suite]\ndescription = "tiny"\n\n[defaults]\nkind = "pipeline"\n\n'
        '[[benchmark]]\nname = "a-{mode}"\nmode = ["gpipe", "dni"]\n\n' + profile
    )
    return path


def test_an_unknown_profile_names_the_ones_there_are(tmp_path: Path) -> None:
    path = _suite(tmp_path, '[profile.cpu]\ndescription = "x"\n')
    with pytest.raises(
        SuiteError, match=r"no profile 'cpo'; did you mean 'cpu'\? Its profiles: cpu"
    ):
        load_suite_profile(path, "cpo")


def test_a_profile_naming_no_entry_lists_the_entries(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        '[profile.cpu]\ndescription = "x"\n[profile.cpu.benchmark."b-{mode}"]\nsteps = 9\n',
    )
    with pytest.raises(
        SuiteError, match=r"no \[\[benchmark\]\] entry is named 'b-\{mode\}'.*a-\{mode\}"
    ):
        load_suite_profile(path, "cpu")


def test_a_bad_value_in_a_profile_is_checked_like_any_and_names_the_profile(tmp_path: Path) -> None:
    path = _suite(
        tmp_path, '[profile.cpu]\ndescription = "x"\n[profile.cpu.defaults]\ndevice = "gpu"\n'
    )
    with pytest.raises(SuiteError, match=r"'gpu' is not allowed.*with profile 'cpu' applied"):
        load_suite_profile(path, "cpu")
    load_suite(path)  # without the profile, the suite is fine


def test_a_profile_needs_a_description_and_known_keys(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"unknown key 'steps'.*Allowed keys: description"):
        load_suite_profile(_suite(tmp_path, "[profile.cpu]\nsteps = 3\n"), "cpu")
    with pytest.raises(SuiteError, match="missing key 'description'"):
        load_suite_profile(_suite(tmp_path, "[profile.cpu.defaults]\nsteps = 3\n"), "cpu")


def test_with_fault_sets_one_benchmark_and_rejects_mistakes() -> None:
    items = load_suite_profile("gpu-quick", "cpu").items
    faulted = with_fault(items, "streams-dni-m8=raise:1:2")
    assert [i.spec.fault for i in faulted if i.spec and i.spec.fault] == ["raise:1:2"]
    with pytest.raises(UserError, match="did you mean 'streams-dni-m8'"):
        with_fault(items, "streams-dni-m9=raise:1:2")
    with pytest.raises(UserError, match="NAME=KIND:STAGE:STEP"):
        with_fault(items, "raise:1:2")
    with pytest.raises(UserError, match="KIND:STAGE:STEP"):
        with_fault(items, "streams-dni-m8=explode:1:2")


def test_with_slow_stage_slows_pipelines_that_have_the_stage_and_keeps_the_rest() -> None:
    items = load_suite("quick").items
    slowed = with_slow_stage(items, 1, 1.5)
    assert [i.name for i in slowed] == [i.name for i in items]
    for before, after in zip(items, slowed, strict=True):
        if before.kind == "pipeline" and before.spec is not None and before.spec.world_size > 1:
            assert after.spec is not None
            assert (after.spec.slow_stage, after.spec.slow_factor) == (1, 1.5)
        else:
            assert after == before
    assert with_slow_stage(items, 99, 2.0) == items  # no pipeline has a stage 99
    with pytest.raises(UserError, match=r"--slow-factor must be >= 1, got 0.5"):
        with_slow_stage(items, 1, 0.5)


def test_with_data_points_every_lm_benchmark_at_the_text_and_leaves_copy_tasks(
    tmp_path: Path,
) -> None:
    items = load_suite("rnn").items
    text = tmp_path / "corpus.txt"
    text.write_text("some text\n" * 100)
    changed = with_data(items, None, text)
    for before, after in zip(items, changed, strict=True):
        assert before.recurrent is not None and after.recurrent is not None
        if before.kind == "rnn":
            assert (after.recurrent.data, after.recurrent.text_path) == ("text", text)
        else:
            assert after == before
    assert with_data(items, None, None) == items
    with pytest.raises(UserError, match="does not exist: pass --text-path"):
        with_data(items, None, tmp_path / "missing.txt")
