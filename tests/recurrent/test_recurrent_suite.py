"""The rnn suite loads into recurrent items; recurrent keys are checked with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnibench.recurrent.config import RecurrentConfig, build_recurrent
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
    regimes = {(i.recurrent.regime, i.recurrent.truncation) for i in lm if i.recurrent}
    assert regimes == {
        ("tbptt", 8),
        ("tbptt", 20),
        ("tbptt", 40),
        ("dni-tbptt", 8),
        ("dni-tbptt+aux", 8),
    }
    assert all(item.repeats >= 3 for item in lm)
    budgets = {
        (i.recurrent.chars, i.recurrent.batch_size, i.recurrent.target_bpc)
        for i in lm
        if i.recurrent
    }
    assert len(budgets) == 1  # equal characters, one target for all
    grid = {
        (i.recurrent.task, i.recurrent.mode, i.recurrent.truncation) for i in copies if i.recurrent
    }
    assert grid == {
        (t, m, T)
        for t in ("copy", "repeat-copy")
        for m in ("tbptt", "dni-tbptt")
        for T in (2, 3, 4, 5)
    }
    assert {(i.recurrent.train_split, i.recurrent.eval_split) for i in lm if i.recurrent} == {
        ("valid", "test")
    }


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
    body = '[[benchmark]]\nname = "a"\nkind = "rnn"\ndata = "ptb"\n'
    assert "set data_dir" in error_of(write(tmp_path, body))
    message = error_of(
        write(tmp_path, body + 'data_dir = "d"\ntrain_split = "test"\neval_split = "test"\n')
    )
    assert "both 'test'" in message


def test_build_recurrent_converts_paths_and_drops_suite_keys() -> None:
    config = build_recurrent(
        "rnn",
        {"name": "x", "repeats": 2, "data": "text", "text_path": "~/book.txt", "truncation": 4},
    )
    assert config == RecurrentConfig(
        kind="rnn", data="text", text_path=Path.home() / "book.txt", truncation=4
    )
    assert config.seeded(2).seed == config.seed + 2
