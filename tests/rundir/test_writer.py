"""The one writer: atomic files, whole rows, no symlinks followed, gzip'd first-launch traces."""

from __future__ import annotations

import csv
import gzip
import json
import os
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.rundir import layout, writer
from dnibench.rundir.reader import first_trace, load_trace, read_config, trace_paths

TRACE = {"traceEvents": [{"ph": "X", "name": "forward", "pid": 0, "ts": 0.0, "dur": 1.0}]}


def _prepared(tmp_path: Path, **options: bool) -> Path:
    out = tmp_path / "run"
    writer.prepare(out, {"benchmarks": [], "command": "dnibench run x"}, {"cpu": "x"}, **options)
    return out


def test_prepare_writes_the_format_version_and_the_machine(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    config = json.loads((out / layout.CONFIG).read_text())
    assert config["format_version"] == layout.FORMAT_VERSION == 1
    assert config["command"] == "dnibench run x" and "all_traces" not in config
    assert json.loads((out / layout.FINGERPRINT).read_text()) == {"cpu": "x"}
    assert (out / layout.TRACES).is_dir()
    assert read_config(out).format_version == 1


def test_prepare_refuses_a_folder_that_holds_a_run(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    writer.append_results(out, [])
    writer.append_status(out, [{"benchmark": "a", "status": "ok", "seconds": 1, "message": ""}])
    before = (out / layout.CONFIG).read_bytes()
    with pytest.raises(UserError, match="already holds a run"):
        writer.prepare(out, {"benchmarks": [1]}, {})
    assert (out / layout.CONFIG).read_bytes() == before


def test_whole_files_are_replaced_atomically(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "doc.json"
    writer.write_json(path, {"a": 1})

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        writer.write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]  # no temporary left behind


def test_appends_write_whole_rows_with_one_header(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    row = dict.fromkeys(layout.RESULT_COLUMNS, 0) | {"benchmark": "a", "value": 1.5}
    writer.append_results(out, [row])
    writer.append_results(out, [row | {"benchmark": "b"}])
    text = (out / layout.RESULTS).read_text()
    assert text.count("benchmark,mode") == 1 and text.endswith("\n")
    with (out / layout.RESULTS).open(newline="") as handle:
        assert [r["benchmark"] for r in csv.DictReader(handle)] == ["a", "b"]


def test_a_symlink_inside_the_run_folder_is_refused(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("keep\n")
    (out / layout.STATUS).symlink_to(elsewhere)
    with pytest.raises(UserError, match="symbolic link"):
        writer.append_status(out, [{"benchmark": "a", "status": "ok"}])
    (out / layout.CORPUS).symlink_to(elsewhere)
    with pytest.raises(UserError, match="symbolic link"):
        writer.write_corpus(out, "rnn", {"sha256": "x"})
    assert elsewhere.read_text() == "keep\n"


def test_a_linked_traces_folder_is_refused(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    (out / layout.TRACES).rmdir()
    (tmp_path / "other").mkdir()
    (out / layout.TRACES).symlink_to(tmp_path / "other")
    with pytest.raises(UserError, match="symbolic link"):
        writer.write_trace(out, "gpipe-m8", TRACE)
    assert list((tmp_path / "other").iterdir()) == []


def test_traces_are_gzipped_reproducibly_and_read_back(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    path = writer.write_trace(out, "gpipe-m8", TRACE)
    assert path is not None and path.name == "gpipe-m8.json.gz"
    data = path.read_bytes()
    assert data[:2] == b"\x1f\x8b" and json.loads(gzip.decompress(data)) == TRACE
    writer.write_trace(out, "gpipe-m8", TRACE)
    assert path.read_bytes() == data  # mtime 0: same trace, same bytes
    assert first_trace(out, "gpipe-m8") == path and load_trace(path) == TRACE


def test_only_the_first_launch_keeps_a_trace(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    assert writer.keeps_trace(out, 0) and not writer.keeps_trace(out, 1)
    assert writer.write_trace(out, "dni-m8-r0", TRACE, launch=0) is not None
    assert writer.write_trace(out, "dni-m8-r1", TRACE, launch=1) is None
    assert [p.name for p in trace_paths(out, "dni-m8")] == ["dni-m8-r0.json.gz"]


def test_keep_all_traces_keeps_every_launch(tmp_path: Path) -> None:
    out = _prepared(tmp_path, keep_all_traces=True)
    assert json.loads((out / layout.CONFIG).read_text())["all_traces"] is True
    for launch in range(3):
        writer.write_trace(out, f"dni-m8-r{launch}", TRACE, launch=launch)
    assert [p.name for p in trace_paths(out, "dni-m8")] == [
        "dni-m8-r0.json.gz", "dni-m8-r1.json.gz", "dni-m8-r2.json.gz",
    ]  # fmt: skip


def test_corpus_records_merge_per_benchmark(tmp_path: Path) -> None:
    out = _prepared(tmp_path)
    writer.write_corpus(out, "rnn-b", {"sha256": "b"})
    writer.write_corpus(out, "rnn-a", {"sha256": "a"})
    assert json.loads((out / layout.CORPUS).read_text()) == {
        "rnn-a": {"sha256": "a"}, "rnn-b": {"sha256": "b"},
    }  # fmt: skip


def test_derived_reports_are_marked(tmp_path: Path) -> None:
    writer.write_derived_config(tmp_path, layout.SIMULATION, {"settings": {}})
    config = json.loads((tmp_path / layout.CONFIG).read_text())
    assert config["derived"] == "simulation" and config["format_version"] == 1
    with pytest.raises(ValueError, match="unknown derived"):
        writer.write_derived_config(tmp_path, "benchmark", {})


def test_run_all_traces_flag() -> None:
    import argparse

    from dnibench.cli.suites import add_suite_commands

    parser = argparse.ArgumentParser()
    add_suite_commands(parser.add_subparsers())
    assert parser.parse_args(["run", "quick", "--all-traces"]).all_traces is True
    assert parser.parse_args(["run", "quick"]).all_traces is False
