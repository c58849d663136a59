"""The rnn suite loads into recurrent items; recurrent keys are checked with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnibench.stats import CALIBRATION_SEEDS, REPORT_SEEDS
from dnibench.studies.recurrent.config import RecurrentConfig, build_recurrent
from dnibench.suites import SuiteError, load_suite

HEAD = '[suite]\ndescription = "t"\n\n'


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    return str(info.value)


def test_the_rnn_suite_expands_to_the_issue_grid() -> None:
    suite = load_suite("rnn")
    lm = [item for item in suite.items if item.kind == "rnn"]
    copies = [item for item in suite.items if item.kind == "copy"]
    for item in suite.items:
        assert item.recurrent is not None and item.spec is None and item.train is None
        assert item.runtime == "reference" and item.recurrent.kind == item.kind
    regimes = {
        (i.recurrent.regime, i.recurrent.truncation, i.recurrent.sg_scale)
        for i in lm
        if i.recurrent and i.recurrent.mode == "dni-tbptt"
    } | {
        (i.recurrent.regime, i.recurrent.truncation)
        for i in lm
        if i.recurrent and i.recurrent.mode == "tbptt"
    }
    default = RecurrentConfig.sg_scale
    assert {("tbptt", 8), ("tbptt", 40), ("dni-tbptt", 8, default), ("dni-tbptt+aux", 8, default),
            ("dni-tbptt", 8, 0.0)} <= regimes  # fmt: skip
    assert len({r for r in regimes if r[0] == "dni-tbptt" and r[2] > 0}) >= 3  # scales compared
    assert all(item.repeats >= 3 for item in lm)
    # the seed rule: verdict runs on report seeds 0-4, calibration runs on 100-102 only
    seeds = {i.name: i.recurrent.seeds for i in lm if i.recurrent}
    report = [n for n, s in seeds.items() if s == REPORT_SEEDS]
    calibration = [n for n, s in seeds.items() if s == CALIBRATION_SEEDS]
    assert sorted(report + calibration) == sorted(seeds)
    assert {"py-tbptt-T8", "py-tbptt-T40", "py-tbptt-T8-window40", "py-dni-T8"} <= set(report)
    assert all(name.startswith("cal-") for name in calibration) and len(calibration) >= 8
    swept = [i.recurrent for i in lm if i.recurrent and i.name in calibration]
    gammas = {(c.sg_scale, c.sg_gamma) for c in swept if c.mode == "dni-tbptt"}
    assert len({g for _, g in gammas}) >= 2 and len({s for s, _ in gammas}) >= 2  # both swept
    budgets = {
        (i.recurrent.chars, i.recurrent.batch_size, i.recurrent.eval_chars, i.recurrent.data)
        for i in lm
        if i.recurrent
    }
    assert len(budgets) == 1  # equal characters on one corpus for all
    assert budgets.pop()[2:] == (100_000, "pystdlib")  # the default corpus, >= 100k scored
    grid = {(i.recurrent.task, i.recurrent.mode, i.recurrent.truncation) for i in copies
            if i.recurrent}  # fmt: skip
    assert grid == {(t, m, T) for t in ("copy", "repeat-copy") for m in ("tbptt", "dni-tbptt")
                    for T in (4, 8, 16, 32)}  # fmt: skip
    # paired copy verdicts: every cell on the report seeds 0-4, one budget for all
    assert all(item.repeats == 5 and item.recurrent and item.recurrent.seeds == (0, 1, 2, 3, 4)
               for item in copies)  # fmt: skip
    assert len({i.recurrent.chars for i in copies if i.recurrent}) == 1


def test_no_suite_names_an_absolute_path() -> None:
    for path in Path(__file__).parents[3].joinpath("suites").glob("*.toml"):
        text = path.read_text()
        assert "/work/" not in text and "/root/" not in text and "/home/" not in text, path


def test_recurrent_keys_are_bounded_and_named(tmp_path: Path) -> None:
    base = '[[benchmark]]\nname = "a"\nkind = "copy"\n'
    message = error_of(write(tmp_path, base + "truncation = 0\n"))
    assert "s.toml:7" in message and "'truncation' must be from 1 to 10000, got 0" in message
    message = error_of(write(tmp_path, base + 'mode = "dni"\n'))
    assert "'dni' is not allowed" in message and "tbptt, dni-tbptt" in message
    message = error_of(write(tmp_path, base + "trunaction = 4\n"))
    assert "unknown key 'trunaction'; did you mean 'truncation'?" in message


def test_a_key_of_the_other_recurrent_kind_says_so(tmp_path: Path) -> None:
    message = error_of(
        write(tmp_path, '[[benchmark]]\nname = "a"\nkind = "copy"\ntarget_bpc = 1.5\n')
    )
    assert "belongs to rnn benchmarks, and this one is copy" in message


def test_cross_key_rules_fail_at_load(tmp_path: Path) -> None:
    body = '[[benchmark]]\nname = "a"\nkind = "rnn"\nmode = "tbptt"\naux = true\ndata = "text"\n'
    assert "aux" in error_of(write(tmp_path, body + 'text_path = "x.txt"\n'))
    body = '[[benchmark]]\nname = "a"\nkind = "rnn"\ndata = "ptb"\ntrain_split = "valid"\n'
    assert "unknown key 'train_split'" in error_of(write(tmp_path, body))


def test_build_recurrent_converts_paths_and_drops_suite_keys() -> None:
    config = build_recurrent(
        "rnn",
        {"name": "x", "repeats": 2, "data": "text", "text_path": "~/book.txt", "truncation": 4},
    )
    assert config == RecurrentConfig(
        kind="rnn", data="text", text_path=Path.home() / "book.txt", truncation=4
    )
    assert config.seeded(2).seed == config.seed + 2


def test_seeds_name_one_seed_per_repeat(tmp_path: Path) -> None:
    config = build_recurrent("rnn", {"name": "x", "seeds": [100, 101, 102]})
    assert config.seeds == (100, 101, 102)
    assert [config.seeded(r).seed for r in range(3)] == [100, 101, 102]
    with pytest.raises(ValueError, match="repeat 3 has no seed"):
        config.seeded(3)
    body = '[[benchmark]]\nname = "a"\nkind = "rnn"\nseeds = [0, 1, 2]\n'
    assert "set repeats = 3" in error_of(write(tmp_path, body + "repeats = 2\n"))
    assert "distinct" in error_of(write(tmp_path, body.replace("1, 2", "1, 1") + "repeats = 3\n"))
    assert ">= 0" in error_of(write(tmp_path, body.replace("0, 1", "-1, 1") + "repeats = 3\n"))
    loaded = load_suite(write(tmp_path, body + "repeats = 3\n"))
    assert loaded.items[0].recurrent is not None and loaded.items[0].recurrent.seeds == (0, 1, 2)
