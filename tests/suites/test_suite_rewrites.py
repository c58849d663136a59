"""Item rewrites: suite profiles ([profile.NAME]) and the rehearsal fault on the gpu-quick
suite, a slowed stage on quick, and the command line's corpus on rnn."""

from __future__ import annotations

import math
from dataclasses import replace
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
    with pytest.raises(UserError, match=r"--slow-factor: must be from 1 to 100, got 0.5"):
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


def test_with_data_gives_the_gpt_pipelines_the_text_and_leaves_the_others(tmp_path: Path) -> None:
    items = load_suite("pipeline").items
    text = tmp_path / "corpus.txt"
    text.write_text("some text\n" * 100)
    changed = with_data(items, None, text)
    for before, after in zip(items, changed, strict=True):
        assert before.spec is not None and after.spec is not None
        if before.name.startswith("gpt-"):
            assert (after.spec.data, after.spec.text_path) == ("text", str(text))
        else:
            assert after == before
    with pytest.raises(UserError, match="does not exist"):
        with_data(items, None, tmp_path / "missing.txt")
    on_text = [replace(i, spec=i.spec.with_(data="text")) if i.name.startswith("gpt-") else i
               for i in items if i.spec is not None]  # fmt: skip
    with pytest.raises(UserError, match="data 'text' needs a file: pass --text-path"):
        with_data(on_text, None, None)


# Issue 20, defect 12: a fault that can never fire made a failure rehearsal pass with none.
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("dni-m4=raise:2:3", r"'dni-m4' has no stage 2; its stages are 0\.\.1"),
        ("single-1t-m4=hang:1:3", r"'single-1t-m4' has no stage 1; its stages are 0\.\.0"),
        ("dni-m4=raise:1:17", r"'dni-m4' runs steps 1\.\.16 .*a fault at step 17 would never fire"),
        ("dni-m4=kill:0:0", r"a fault at step 0 would never fire"),
        ("digits-dni=raise:0:1", r"'digits-dni' is a train benchmark; faults need a pipeline"),
    ],
)
def test_a_fault_must_name_a_stage_and_a_step_the_benchmark_has(fault: str, message: str) -> None:
    items = load_suite("quick").items
    with pytest.raises(UserError, match=message):
        with_fault(items, fault)
    assert with_fault(items, "dni-m4=raise:1:16")[3].spec.fault == "raise:1:16"  # type: ignore[union-attr]


def test_a_fault_on_a_pytorch_schedule_is_refused(tmp_path: Path) -> None:
    items = load_suite("pipeline").items
    with pytest.raises(UserError, match=r"runs PyTorch's own schedule .* takes no injected fault"):
        with_fault(items, "torch-zbv-m1=raise:0:2")


# Issue 20, defect 13: --slow-factor nan, --slow-stage 5 on two stages.
@pytest.mark.parametrize(
    ("stage", "factor", "message"),
    [
        (1, math.nan, r"--slow-factor: must be a finite number, got nan"),
        (1, math.inf, r"--slow-factor: must be a finite number, got inf"),
        (1, 1e6, r"--slow-factor: must be from 1 to 100"),
        (5, 2.0, r"--slow-stage 5 is no stage of any pipeline .* has 2, so 0\.\.1"),
        (-1, 2.0, r"--slow-stage -1 is no stage of any pipeline"),
    ],
)
def test_slow_stage_and_factor_out_of_range_are_refused(
    stage: int, factor: float, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        with_slow_stage(load_suite("quick").items, stage, factor)


def test_slow_stage_with_no_pipeline_is_refused() -> None:
    with pytest.raises(UserError, match="--slow-stage applies to pipeline benchmarks, and this"):
        with_slow_stage(load_suite("ff").items, 1, 1.5)


# Issue 20, defects 13 and 14: a corpus option with no rnn benchmark; a corpus that is no text.
@pytest.mark.parametrize("suite", ["quick", "ff"])
def test_corpus_options_on_a_run_with_no_rnn_benchmark_are_refused(
    suite: str, tmp_path: Path
) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text("some text\n" * 100)
    items = load_suite(suite).items
    with pytest.raises(UserError, match="--text-path set the corpus of rnn benchmarks, and this"):
        with_data(items, None, text)
    with pytest.raises(UserError, match="--data-dir set the corpus"):
        with_data(items, tmp_path, None)
    assert with_data(items, None, None) == items


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "holds a NUL byte at byte 8: it is binary"),
        (b"caf\xe9 au lait\n" * 50, r"is not UTF-8 text \(byte 3 cannot be decoded\)"),
        (b"abc", r"is too short \(3 characters\) to split into train, valid and test"),
        (None, "is a folder, not a file"),
    ],
    ids=["empty", "binary", "latin-1", "short", "folder"],
)
def test_a_text_path_that_is_no_usable_text_is_refused_before_running(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "corpus"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(UserError, match=rf"text file {path} {message}: pass --text-path"):
        with_data(load_suite("rnn").items, None, path)
