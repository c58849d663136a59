"""The asynchronous modes' section on a hand-written run whose answers are known: ratios
against dni and the best exact schedule of the same model group, an inconclusive one, the
stash against the parameter bytes, versions held, DGL's head FLOPs, a not-applicable row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dnibench.report.verdict import Verdict
from dnibench.rundir.reader import load_run
from dnibench.studies.pipeline.async_modes import async_section, stash_ratios

FIELDS = ["benchmark", "mode", "stages", "microbatches", "metric", "stage", "repeat", "value",
          "unit"]  # fmt: skip
MIB = 2**20
#: Per-stage rows of the asynchronous stages' logs: metric -> (stage 0, stage 1).
PIPEDREAM = {"stash_bytes": (2 * MIB, 0.0), "weight_versions_held": (2.0, 1.0),
             "parameter_bytes": (2 * MIB, 4 * MIB)}  # fmt: skip
TWO_BW = {"stash_bytes": (2 * MIB, 4 * MIB), "weight_versions_held": (2.0, 2.0),
          "parameter_bytes": (2 * MIB, 4 * MIB)}  # fmt: skip
DGL = {"aux_head_flops": (20480.0, 0.0)}


def _write(out: Path, benches: list[tuple[str, str, int, list[float], dict]]) -> Path:
    """results.csv with launches in rounds (so paired by launch) and config.json."""
    rows, specs = [], []
    for repeat in range(max(len(b[3]) for b in benches)):
        for name, mode, m, launches, stage_rows in benches:
            base = {"benchmark": name, "mode": mode, "stages": 2, "microbatches": m,
                    "repeat": repeat, "unit": ""}  # fmt: skip
            cells = [("throughput", -1, launches[repeat]), ("pipeline_efficiency", -1, 0.9)]
            cells += [(k, s, v) for k, pair in stage_rows.items() for s, v in enumerate(pair)]
            rows += [{**base, "metric": k, "stage": s, "value": v} for k, s, v in cells]
    for name, mode, m, _, _ in benches:
        spec = {"name": name, "mode": mode, "model": "mlp", "stages": 2, "batch_size": 64,
                "microbatches": m, "spans": True}  # fmt: skip
        specs.append({"name": name, "spec": spec})
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "config.json").write_text(json.dumps({"benchmarks": specs}))
    return out


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = _write(tmp_path, [
        ("1f1b-m8", "1f1b", 8, [1000.0, 1000.0, 1000.0], {}),
        ("zb-m8", "zb", 8, [1100.0, 1100.0, 1100.0], {}),
        ("dni-m8", "dni", 8, [1000.0, 1000.0, 1000.0], {}),
        # Against dni, launch by launch: 0.9, 1.1, 1.0 -> the interval straddles 1.
        ("pipedream-m8", "pipedream", 8, [900.0, 1100.0, 1000.0], PIPEDREAM),
        ("pipedream-2bw-m8", "pipedream-2bw", 8, [1500.0, 1510.0, 1490.0], TWO_BW),
        ("dgl-m8", "dgl", 8, [800.0, 810.0, 790.0], DGL),
        # The transformer: far slower, so a ratio against the MLP's rows would be tiny.
        ("gpt-1f1b-m8", "1f1b", 8, [40.0, 40.0, 40.0], {}),
        ("gpt-dni-m8", "dni", 8, [50.0, 50.0, 50.0], {}),
        ("gpt-pipedream-m8", "pipedream", 8, [60.0, 61.0, 59.0], PIPEDREAM),
    ])  # fmt: skip
    status = "benchmark,status,seconds,message\npipedream-2bw-m1,not_applicable,0.1,needs m >= K\n"
    (run / "status.csv").write_text(status)
    return run


def _row(markdown: str, start: str) -> list[str]:
    rows = [line for line in markdown.splitlines() if line.startswith(start)]
    assert len(rows) == 1, rows
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_ratios_against_dni_and_best_exact_with_verdicts(run_dir: Path) -> None:
    section = async_section(run_dir)
    assert section is not None
    claims = {r.claim: r for r in section.verdicts}
    two_bw = claims["pipedream-2bw-m8 faster than dni-m8"]
    assert two_bw.word == Verdict.MET and two_bw.estimate == pytest.approx(1.5, rel=0.02)
    best = claims["pipedream-2bw-m8 faster than the best exact schedule (zb-m8)"]
    assert best.word == Verdict.MET and best.estimate == pytest.approx(1500 / 1100, rel=0.02)
    assert claims["dgl-m8 faster than dni-m8"].word == Verdict.MISSED
    cells = _row(section.markdown, "| pipedream-2bw | 8 |")
    assert cells[2] == "1500" and cells[5] == "zb-m8 (1100)"


def test_a_straddling_interval_is_inconclusive(run_dir: Path) -> None:
    section = async_section(run_dir)
    assert section is not None
    record = {r.claim: r for r in section.verdicts}["pipedream-m8 faster than dni-m8"]
    assert record.word == Verdict.INCONCLUSIVE
    assert record.low < 1.0 < record.high
    cells = _row(section.markdown, "| pipedream | 8 |")
    assert cells[4] == f"{Verdict.INCONCLUSIVE} (interval straddles 1)"


def test_gpt_rows_are_compared_within_their_group(run_dir: Path) -> None:
    section = async_section(run_dir)
    assert section is not None
    claims = {r.claim: r for r in section.verdicts}
    gpt = [c for c in claims if c.startswith("gpt-pipedream-m8")]
    assert sorted(gpt) == [
        "gpt-pipedream-m8 faster than gpt-dni-m8",
        "gpt-pipedream-m8 faster than the best exact schedule (gpt-1f1b-m8)",
    ]
    assert claims[gpt[0]].estimate == pytest.approx(60 / 50, rel=0.02)
    assert claims[gpt[1]].estimate == pytest.approx(60 / 40, rel=0.02)
    markdown = section.markdown
    assert markdown.index("### Model group: the plain grid") < markdown.index(
        "### Model group: gpt-*"
    )


def test_stash_versions_and_head_flops_per_stage(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert stash_ratios(run, "pipedream-2bw-m8", "", 8) == [pytest.approx(1.0)] * 2
    assert stash_ratios(run, "pipedream-m8", "", 8) == [pytest.approx(1.0), pytest.approx(0.0)]
    assert stash_ratios(run, "dgl-m8", "", 8) == []
    section = async_section(run_dir)
    assert section is not None
    pipedream = _row(section.markdown, "| pipedream | 8 |")
    assert pipedream[8:12] == ["2.00 / 0.00", "1.00 / 0.00", "2 / 1", "—"]
    dgl = _row(section.markdown, "| dgl | 8 |")
    assert dgl[8:12] == ["—", "—", "—", "20480 / 0"]


def test_stash_is_read_against_1f1bs_parameter_bytes_when_it_reports_them(tmp_path: Path) -> None:
    run_dir = _write(tmp_path, [
        ("1f1b-m4", "1f1b", 4, [1000.0], {"parameter_bytes": (4 * MIB, 4 * MIB)}),
        ("pipedream-m4", "pipedream", 4, [900.0], PIPEDREAM),
    ])  # fmt: skip
    ratios = stash_ratios(load_run(run_dir), "pipedream-m4", "", 4)
    assert ratios == [pytest.approx(0.5), pytest.approx(0.0)]


def test_not_applicable_rows_and_no_section_without_async_modes(
    run_dir: Path, tmp_path: Path
) -> None:
    section = async_section(run_dir)
    assert section is not None
    assert "| pipedream-2bw | 1 | not_applicable: needs m >= K |" in section.markdown
    plain = tmp_path / "plain"
    plain.mkdir()
    _write(plain, [("1f1b-m8", "1f1b", 8, [1000.0], {}), ("dni-m8", "dni", 8, [900.0], {})])
    assert async_section(plain) is None
