"""A gpt pipeline run records the text it read, so runs on different text are never compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnibench.cli import main

SUITE = """
[suite]
description = "one tiny transformer pipeline on a text file"
repeats = 1

[[benchmark]]
name = "gpt-gpipe-m2"
kind = "pipeline"
runtime = "streams"
device = "cpu"
model = "gpt"
data = "text"
mode = "gpipe"
microbatches = 2
width = 16
depth = 1
input_shape = [8]
batch_size = 4
steps = 3
warmup = 1
"""


def test_gpt_runs_record_their_corpus_and_check_refuses_a_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    suite = tmp_path / "gpt.toml"
    suite.write_text(SUITE)
    for name, text in (("a", "abc def ghi. " * 80), ("b", "uvw xyz. " * 120)):
        book = tmp_path / f"{name}.txt"
        book.write_text(text)
        out = tmp_path / name
        assert main(["run", str(suite), "--text-path", str(book), "--out", str(out)]) == 0
        corpora = json.loads((out / "corpus.json").read_text())
        entry = corpora["gpt-gpipe-m2"]
        assert (entry["corpus"], entry["file"]) == ("text", f"{name}.txt")
        assert len(str(entry["sha256"])) == 64
        assert str(tmp_path) not in (out / "corpus.json").read_text()
    capsys.readouterr()
    code = main(["check", "--baseline", str(tmp_path / "a"), "--current", str(tmp_path / "b")])
    message = capsys.readouterr().err
    assert code == 2 and "read different text" in message and "gpt-gpipe-m2" in message
