"""A run where every benchmark failed still exports: no entries and a note, not an abort."""

from __future__ import annotations

import json
from pathlib import Path

from dnibench.export import write_pytest_benchmark_json
from dnibench.rundir import writer


def test_a_run_without_throughput_exports_an_empty_list_with_a_note(tmp_path: Path) -> None:
    out = tmp_path / "run"
    writer.prepare(out, {"benchmarks": []}, {"cpu": "x"})
    calibration = {"benchmark": "calibration", "mode": "", "stages": 0, "microbatches": 0,
                   "metric": "span_cost", "stage": -1, "repeat": 0, "value": 300.0,
                   "unit": "ns"}  # fmt: skip
    writer.append_results(out, [calibration])
    document = json.loads(write_pytest_benchmark_json(out).read_text())
    assert document["benchmarks"] == []
    assert "no benchmark has a positive throughput" in document["dnibench"]["note"]
