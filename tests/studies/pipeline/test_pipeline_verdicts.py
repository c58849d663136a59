"""The zero-bubble verdicts, the hardware-limit efficiency and the "not measured" cells, on a
hand-written run whose answers are known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dnibench.report.tables import pipeline_table
from dnibench.rundir.reader import load_run
from dnibench.studies.pipeline.hardware_limit import hardware_limit_efficiency
from dnibench.studies.pipeline.verdicts import lock_idle, verdicts_section
from dnibench.studies.registry import report_hooks

FIELDS = ["benchmark", "mode", "stages", "microbatches", "metric", "stage", "repeat", "value",
          "unit"]  # fmt: skip


def _rows(name: str, mode: str, m: int, launches: list[float], waits: float, comm: float = 0.02):
    stages = 1 if mode == "single" else 2
    base = {"benchmark": name, "mode": mode, "stages": stages, "microbatches": m}
    out = []
    for repeat, thr in enumerate(launches):
        cells = [("throughput", -1, thr), ("pipeline_efficiency", -1, 0.9)]
        for stage in range(stages):
            cells += [("busy_fraction", stage, 0.8), ("wait_activation_fraction", stage, waits),
                      ("wait_gradient_fraction", stage, waits), ("comm_fraction", stage, comm),
                      ("peak_rss", stage, 400.0 + 10 * stage)]  # fmt: skip
        out += [{**base, "metric": k, "stage": s, "repeat": repeat, "value": v, "unit": ""}
                for k, s, v in cells]  # fmt: skip
    return out


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    zb = [1000.0, 1010.0, 990.0, 1005.0, 995.0]
    benches = [
        ("zb-m4", "zb", 4, zb, 0.05, 0.02),
        ("torch-zb-m4", "torch-zb", 4, [b * 1.01 for b in zb], 0.05, 0.02),
        ("1f1b-m4", "1f1b", 4, [900.0, 910.0, 890.0], 0.10, 0.02),
        ("dni-m4", "dni", 4, [1500.0, 1490.0, 1510.0], 0.01, 0.02),
        ("torch-1f1b-m4", "torch-1f1b", 4, [950.0, 950.0, 950.0], 0.0, 0.0),  # waits unmeasured
        ("single-1t-m4", "single", 4, [800.0, 800.0, 800.0], 0.0, 0.0),
        ("single-all-m4", "single", 4, [1300.0, 1300.0, 1300.0], 0.0, 0.0),
        ("zb-m8", "zb", 8, [1100.0, 1100.0, 1100.0, 1100.0, 1100.0], 0.20, 0.02),
        ("1f1b-m8", "1f1b", 8, [1000.0, 1000.0, 1000.0], 0.10, 0.02),
        ("dni-m8", "dni", 8, [1200.0, 1200.0, 1200.0], 0.01, 0.02),
    ]
    rows, specs = [], []
    for name, mode, m, launches, waits, comm in benches:
        rows += _rows(name, mode, m, launches, waits, comm)
        threads = 2 if name.startswith("single-all") else 1
        specs.append({"name": name, "spec": {"name": name, "mode": mode, "model": "mlp",
                      "width": 64, "depth": 4, "stages": 2, "balance": [2, 3], "batch_size": 64,
                      "microbatches": m, "threads": threads, "spans": True}})  # fmt: skip
    with (tmp_path / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "config.json").write_text(json.dumps({"benchmarks": specs}))
    status = "benchmark,status,seconds,message\ntorch-zb-m8,not_applicable,0.1,torch says no\n"
    (tmp_path / "status.csv").write_text(status)
    return tmp_path


def test_hardware_limit_is_cores_times_single_thread(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert hardware_limit_efficiency(run, "dni-m4") == pytest.approx(1500 / (2 * 800))
    assert hardware_limit_efficiency(run, "single-all-m4") == pytest.approx(1300 / (2 * 800))
    assert np.isnan(hardware_limit_efficiency(run, "dni-m8"))  # no single-1t-m8 in the run


def test_table_marks_unmeasured_waits_and_shows_memory_by_stage(run_dir: Path) -> None:
    table = pipeline_table(load_run(run_dir), report_hooks())
    assert table is not None
    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert rows["torch-1f1b-m4"]["lock idle by stage"] == "— / —"
    assert rows["torch-1f1b-m4"]["comm by stage"] == "— / —"
    assert rows["zb-m4"]["lock idle by stage"] == "0.10 / 0.10"
    assert rows["zb-m4"]["peak RSS MiB by stage"] == "400 / 410"
    assert rows["dni-m4"]["HW-limit efficiency"] == "0.938"
    assert rows["dni-m8"]["HW-limit efficiency"] == "—"


def test_verdicts_check_their_premises(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert lock_idle(run, "zb-m4") == pytest.approx(0.10)
    assert np.isnan(lock_idle(run, "torch-1f1b-m4"))
    section = verdicts_section(run_dir)
    assert section is not None
    text = section.markdown
    # The fixture wrote each benchmark's launches back to back: bootstrapped, not paired.
    # m = 4: zb idles less than 1f1b and its whole interval is above 1; m = 8: it idles
    # more, so not testable whatever the ratio.
    assert "| 4 | 0.100 | 0.200 | yes | 1.111 [1.093, 1.129] | bootstrap over launches" in text
    assert "| 8 | 0.400 | 0.200 | no |" in text and "At m = 8 zb's measured lock idle" in text
    # DNI against the all-cores single process and the best exact schedule (torch-zb at m=4).
    assert "| dni | 4 | 1.154 [1.146, 1.162] | met | torch-zb-m4 (1010) | 1.485 [" in text
    assert "| dni | 8 | — | not measured: no single-all-m8 in this run | zb-m8 (1100) |" in text
    # Own zb against torch's: 0.990 with its interval wholly above 0.95 meets the target;
    # at m = 8 torch's schedule did not run, so the verdict is not testable, with the reason.
    line = next(row for row in text.splitlines() if row.startswith("| 4 | 1000 (5)"))
    assert "0.990 [" in line and line.endswith("| met |")
    assert "not testable: not_applicable: torch says no" in text
    words = {r.claim: r.word for r in section.verdicts}
    assert words["zb beats 1f1b at m=4"] == "met"
    assert words["zb beats 1f1b at m=8"] == "not testable"
    assert words["dni-m4 faster than single-all-m4"] == "met"
    assert words["dni-m4 faster than the best exact schedule (torch-zb-m4)"] == "met"


def test_interleaved_launches_are_paired_and_a_straddle_is_inconclusive(run_dir: Path) -> None:
    """Re-order results.csv into the session's rounds, and make dni-m4 tie single-all-m4."""
    frame = pd.read_csv(run_dir / "results.csv")
    dni = (frame["benchmark"] == "dni-m4") & (frame["metric"] == "throughput")
    frame.loc[dni, "value"] = [1330.0, 1270.0, 1305.0]  # against 1300, 1300, 1300
    frame = frame.sort_values("repeat", kind="stable")
    frame.to_csv(run_dir / "results.csv", index=False)
    section = verdicts_section(run_dir)
    assert section is not None
    record = next(r for r in section.verdicts if r.claim == "dni-m4 faster than single-all-m4")
    assert record.method.startswith("paired by launch, n=3")
    assert record.low == pytest.approx(1270 / 1300) and record.high == pytest.approx(1330 / 1300)
    assert record.word == "inconclusive"
    assert "| dni | 4 | 1.004 [0.977, 1.023] | inconclusive (interval straddles 1) |" in (
        section.markdown
    )


def test_no_zb_and_no_decoupled_regime_no_section(run_dir: Path) -> None:
    results = (run_dir / "results.csv").read_text().splitlines()
    kept = [line for line in results if not line.startswith(("zb-", "dni-"))]
    (run_dir / "results.csv").write_text("\n".join(kept) + "\n")
    assert verdicts_section(run_dir) is None
