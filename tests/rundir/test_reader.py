"""The one reader: every committed run reads, legacy v0 too; derived reports are recognised."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.rundir import layout
from dnibench.rundir.reader import (
    BENCHMARK,
    BenchmarkEntry,
    Spec,
    first_trace,
    load_run,
    load_trace,
    require_benchmark_run,
    run_kind,
    trace_paths,
)
from dnibench.studies import registry

REPORTS = Path(__file__).resolve().parents[2] / "reports"
COMMITTED = sorted(p for p in REPORTS.iterdir() if p.is_dir())
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline-run"
DERIVED = {
    "crosscheck-slow1.5-cpu2-2026-11-22": layout.CROSSCHECK,
    "gate-study-cpu2-2026-11-22": layout.GATE_STUDY,
    "simulate-pipeline-cpu2-2026-11-22": layout.SIMULATION,
    "simulate-pipeline-cpu2-2026-12-01": layout.SIMULATION,
    "simulate-pipeline-cpu2-2026-12-03": layout.SIMULATION,
}


@pytest.mark.parametrize("run_dir", COMMITTED, ids=[p.name for p in COMMITTED])
def test_every_committed_run_reads(run_dir: Path) -> None:
    kind = run_kind(run_dir)
    assert kind == DERIVED.get(run_dir.name, BENCHMARK)
    if kind != BENCHMARK:
        with pytest.raises(UserError, match=f"is a {kind} report derived from other runs"):
            load_run(run_dir)
        return
    run = load_run(run_dir)
    # Runs committed before the run-directory format carry no version; later ones the current one.
    assert run.benchmarks()
    assert run.config.format_version in (layout.LEGACY_VERSION, layout.FORMAT_VERSION)
    assert run.config.benchmarks, "the config's benchmarks read as typed entries"
    for entry in run.config.benchmarks:
        assert isinstance(entry, BenchmarkEntry) and isinstance(entry.spec, Spec)
        assert entry.kind in registry.kinds()  # kmap among them: every kind a study declares
    for name in run.pipeline_benchmarks()[:3]:
        for path in trace_paths(run_dir, name):
            assert isinstance(load_trace(path), dict)


def test_a_damaged_config_is_one_clear_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    (run / layout.CONFIG).write_text("{broken")
    with pytest.raises(UserError, match=r"config\.json is not readable JSON"):
        load_run(run)


def test_derived_reports_are_recognised_by_their_marker(tmp_path: Path) -> None:
    for kind in layout.DERIVED_KINDS:
        folder = tmp_path / kind
        folder.mkdir()
        (folder / layout.CONFIG).write_text(json.dumps({"derived": kind}))
        (folder / layout.RESULTS).write_text("a,b\n1,2\n")
        assert run_kind(folder) == kind
        with pytest.raises(UserError, match="derived from other runs"):
            require_benchmark_run(folder)


def test_a_folder_that_is_neither_gives_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match=r"holds no results\.csv: it is not a run directory"):
        run_kind(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        run_kind(tmp_path / "missing")
    with pytest.raises(UserError, match="is a file, not a run directory"):
        run_kind(tmp_path / "notes.txt")


def test_traces_read_as_gzip_and_as_legacy_json(tmp_path: Path) -> None:
    traces = tmp_path / layout.TRACES
    traces.mkdir()
    doc = {"traceEvents": []}
    (traces / "a.json").write_text(json.dumps(doc))
    (traces / "b-r0.json.gz").write_bytes(gzip.compress(json.dumps(doc).encode(), mtime=0))
    (traces / "b-r1.json").write_text(json.dumps(doc))
    (traces / "b-rx.json").write_text(json.dumps(doc))  # another benchmark's name, not a launch
    assert [p.name for p in trace_paths(tmp_path, "a")] == ["a.json"]
    assert [p.name for p in trace_paths(tmp_path, "b")] == ["b-r0.json.gz", "b-r1.json"]
    assert first_trace(tmp_path, "b") == traces / "b-r0.json.gz"
    assert all(load_trace(p) == doc for p in trace_paths(tmp_path, "b"))
    (traces / "c.json.gz").write_bytes(gzip.compress(b'{"traceEvents": []}')[:10])
    with pytest.raises(ValueError):
        load_trace(traces / "c.json.gz")
