"""A benchmark whose name is too long for the file system has no trace, and the report goes on."""

from __future__ import annotations

from pathlib import Path

from dnibench.rundir import writer
from dnibench.rundir.reader import first_trace, trace_paths


def test_a_name_too_long_for_a_file_has_no_trace(tmp_path: Path) -> None:
    out = tmp_path / "run"
    writer.prepare(out, {"benchmarks": []}, {"cpu": "x"})
    name = "x" * 300
    assert trace_paths(out, name) == []
    assert first_trace(out, name) is None
