"""``dnibench simulate``: a small sweep end to end, and clear errors that write nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from dnibench.cli import main

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pipeline-run"


def test_small_sweep_writes_results_report_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = [
        "simulate",
        "--from",
        str(FIXTURE),
        "--stages",
        "2,4",
        "--microbatches",
        "1,4",
        "--modes",
        "gpipe,1f1b,dni,pipedream-2bw",
        "--sg-relative",
        "0.5",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    results = pd.read_csv(out / "results.csv")
    efficiency = results[results.metric == "pipeline_efficiency"]
    assert set(efficiency["mode"]) == {"gpipe", "1f1b", "dni", "pipedream-2bw"}
    # 2BW needs m >= K: only m = 4 at K = 2 and 4 is simulated, and the report says why
    two_bw = efficiency[efficiency["mode"] == "pipedream-2bw"]
    assert sorted(zip(two_bw.stages, two_bw.microbatches, strict=True)) == [(2, 4), (4, 4)]
    assert set(efficiency["stages"]) == {2, 4}
    memory = results[(results.metric == "activation_memory") & (results.stage == -1)]
    one_f = memory[(memory["mode"] == "1f1b") & (memory.microbatches == 4)]
    assert sorted(one_f.set_index("stages")["value"].items()) == [(2, 2.0), (4, 4.0)]
    report = (out / "report.md").read_text()
    for heading in (
        "Consistency check: each benchmark from its own spans (in sample)",
        "Where efficiency falls below 0.5",
        "Where DNI overtakes 1F1B",
        "weak scaling",
        "Not applicable: combinations a mode refuses",
        "pipedream-2bw at K = 2, m = 1: pipedream-2bw needs at least as many microbatches",
    ):
        assert heading in report
    assert (out / "plots" / "scaling.png").stat().st_size > 0
    assert (out / "plots" / "overtake.png").stat().st_size > 0
    assert (out / "report.html").is_file() and (out / "config.json").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--stages", "2,x"], "comma-separated"),
        (["--microbatches", "0"], "> 0"),
        (["--straggler", "4:1.5", "--stages", "2,8"], "not a stage"),
        (["--straggler", "1"], "STAGE:FACTOR"),
        (["--modes", "dnii"], "unknown mode"),
        (["--p-update", "1.5"], "p-update"),
    ],
)
def test_bad_lists_exit_2_and_write_nothing(tmp_path: Path, capsys, extra, message) -> None:
    out = tmp_path / "sim"
    assert main(["simulate", "--from", str(FIXTURE), "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_missing_run_and_occupied_output_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["simulate", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    assert main(["simulate", "--from", str(FIXTURE), "--out", str(occupied)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (occupied / "keep.txt").read_text() == "mine"


def test_corrupt_run_directory_exits_2(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    (run / "config.json").write_text("{broken")
    assert main(["simulate", "--from", str(run), "--out", str(tmp_path / "o")]) == 2
    assert "config.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
