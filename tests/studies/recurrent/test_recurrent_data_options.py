"""Where the text comes from: --data-dir, --text-path, $DNIBENCH_PTB_DIR, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dnibench.cli import main

SUITE = """
[suite]
description = "one tiny character LM"
repeats = 1

[[benchmark]]
name = "lm-{mode}"
kind = "rnn"
mode = ["tbptt", "dni-tbptt"]
data = "ptb"
width = 8
batch_size = 4
chars = 400
eval_every = 200
eval_chars = 100
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "lm.toml"
    path.write_text(SUITE)
    return path


def test_ptb_without_a_folder_names_the_option_the_variable_and_the_files(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("DNIBENCH_PTB_DIR", raising=False)
    assert main(["run", str(suite), "--out", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err
    assert "--data-dir" in message and "DNIBENCH_PTB_DIR" in message
    assert "ptb.char.train.txt" in message and "ptb.char.valid.txt" in message
    assert not (tmp_path / "run" / "results.csv").exists()  # failed before anything ran


def test_a_missing_folder_or_file_is_named(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    nowhere = tmp_path / "nowhere"
    assert main(["run", str(suite), "--data-dir", str(nowhere), "--out", str(tmp_path / "a")]) == 2
    message = capsys.readouterr().err
    assert str(nowhere) in message and "lm-tbptt" in message and "ptb.char.test.txt" in message
    missing = tmp_path / "book.txt"
    assert main(["run", str(suite), "--text-path", str(missing), "--out", str(tmp_path / "b")]) == 2
    assert str(missing) in capsys.readouterr().err


def test_the_environment_variable_and_text_path_feed_every_lm_benchmark(
    suite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ptb = tmp_path / "ptb"
    ptb.mkdir()
    for split in ("valid", "test"):
        (ptb / f"ptb.char.{split}.txt").write_text("a _ b a _ c\n" * 120)
    monkeypatch.setenv("DNIBENCH_PTB_DIR", str(ptb))
    assert main(["run", str(suite), "--out", str(tmp_path / "env"), "--jobs", "2"]) == 0
    corpora = json.loads((tmp_path / "env" / "corpus.json").read_text())
    assert {entry["corpus"] for entry in corpora.values()} == {"ptb"}
    book = tmp_path / "book.txt"
    book.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    assert main(["run", str(suite), "--text-path", str(book), "--out", str(tmp_path / "t")]) == 0
    corpora = json.loads((tmp_path / "t" / "corpus.json").read_text())
    assert {entry["file"] for entry in corpora.values()} == {"book.txt"}
    for run in ("env", "t"):
        text = (tmp_path / run / "corpus.json").read_text()
        assert str(tmp_path) not in text  # no machine's path in what a report keeps


def test_jobs_two_gives_the_same_figures_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tmp_path / "book.txt"
    book.write_text("pack my box with five dozen liquor jugs. " * 50)
    suite = tmp_path / "lm.toml"
    suite.write_text(SUITE.replace('data = "ptb"', 'data = "text"'))
    figures = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        assert main(["run", str(suite), "--text-path", str(book), "--jobs", jobs,
                     "--out", str(out)]) == 0  # fmt: skip
        results = pd.read_csv(out / "results.csv")
        bpc = results[results["metric"] == "bpc"].set_index("benchmark")["value"]
        figures[jobs] = bpc.sort_index()
        status = pd.read_csv(out / "status.csv")
        assert list(status["status"]) == ["ok", "ok"]
    pd.testing.assert_series_equal(figures["1"], figures["2"])


def test_check_and_compare_refuse_runs_on_different_text(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    suite = tmp_path / "lm.toml"
    suite.write_text(SUITE.replace('data = "ptb"', 'data = "text"').replace(
        '["tbptt", "dni-tbptt"]', '["tbptt"]'))  # fmt: skip
    for name, text in (("a", "abc def ghi. " * 60), ("b", "uvw xyz. " * 90)):
        book = tmp_path / f"{name}.txt"
        book.write_text(text)
        assert main(["run", str(suite), "--text-path", str(book), "--out",
                     str(tmp_path / name)]) == 0  # fmt: skip
    capsys.readouterr()
    code = main(["check", "--baseline", str(tmp_path / "a"), "--current", str(tmp_path / "b")])
    message = capsys.readouterr().err
    assert code == 2 and "read different text" in message and "lm-tbptt" in message
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")])
    assert code == 2 and "not the same workload" in capsys.readouterr().err
