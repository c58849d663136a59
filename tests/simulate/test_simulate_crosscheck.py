"""Out-of-sample check: a run predicted from another run's spans, and its command."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dnibench.cli import main
from dnibench.errors import UserError
from dnibench.simulate.crosscheck import crosscheck_runs
from dnibench.simulate.validate import TARGET, TARGET_STRAGGLER, validate_run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pipeline-run"
TRACED = ("gpipe-m8", "dni-m8")  # the frozen run keeps these benchmarks' traces


def _target(tmp_path: Path, name: str = "target", **changes: Any) -> Path:
    """A copy of the fixture's config and results (no traces) with every spec changed."""
    run = tmp_path / name
    run.mkdir()
    shutil.copy(FIXTURE / "results.csv", run / "results.csv")
    doc = json.loads((FIXTURE / "config.json").read_text())
    for entry in doc["benchmarks"]:
        entry["spec"].update(changes)
    (run / "config.json").write_text(json.dumps(doc))
    return run


def _by_name(rows: list) -> dict:
    return {row.benchmark: row for row in rows}


@pytest.fixture(scope="module")
def plain() -> dict:
    return _by_name(validate_run(FIXTURE))


def test_without_a_straggler_it_equals_the_plain_validation(tmp_path: Path, plain) -> None:
    rows = _by_name(crosscheck_runs(FIXTURE, _target(tmp_path)))
    for name in TRACED:
        assert rows[name].predicted == pytest.approx(plain[name].predicted, rel=1e-12)
        assert rows[name].measured == plain[name].measured
        assert rows[name].target == TARGET
        assert "no straggler" in rows[name].calibration
    # A factor of 1 slows nothing, as in the runtime.
    same = _by_name(crosscheck_runs(FIXTURE, _target(tmp_path, "f1", slow_stage=1)))
    assert same["dni-m8"].predicted == pytest.approx(plain["dni-m8"].predicted, rel=1e-12)


def test_predicted_throughput_falls_as_the_straggler_slows(tmp_path: Path, plain) -> None:
    predicted: dict[str, list[float]] = {name: [plain[name].predicted] for name in TRACED}
    for factor in (1.5, 2.0, 3.0):
        target = _target(tmp_path, f"slow{factor}", slow_stage=1, slow_factor=factor)
        rows = _by_name(crosscheck_runs(FIXTURE, target))
        for name in TRACED:
            assert rows[name].target == TARGET_STRAGGLER
            assert f"stage 1 slowed {factor:g}x" in rows[name].calibration
            predicted[name].append(rows[name].predicted)
    for name, values in predicted.items():
        assert all(a > b for a, b in itertools.pairwise(values)), (name, values)


def test_a_baselines_own_straggler_is_divided_out(tmp_path: Path, plain) -> None:
    # The fixture's spans are unslowed; declared as slowed 2x, dividing that out
    # and applying the target's 2x again must give back the plain prediction.
    slowed = tmp_path / "slowed-baseline"
    shutil.copytree(FIXTURE, slowed)
    doc = json.loads((slowed / "config.json").read_text())
    for entry in doc["benchmarks"]:
        entry["spec"].update(slow_stage=0, slow_factor=2.0)
    (slowed / "config.json").write_text(json.dumps(doc))
    target = _target(tmp_path, slow_stage=0, slow_factor=2.0)
    rows = _by_name(crosscheck_runs(slowed, target))
    for name in TRACED:
        assert rows[name].predicted == pytest.approx(plain[name].predicted, rel=1e-9)
        assert "divided out" in rows[name].calibration


def test_unmatched_and_different_benchmarks_are_skipped_with_reasons(tmp_path: Path) -> None:
    target = _target(tmp_path, slow_stage=1, slow_factor=1.5)
    doc = json.loads((target / "config.json").read_text())
    benchmarks = doc["benchmarks"]
    by_name = {entry["spec"]["name"]: entry for entry in benchmarks}
    by_name["dni-m8"]["spec"]["microbatches"] = 4
    # Keys newer than the frozen run: absent there, so their defaults apply.
    by_name["gpipe-m8"]["spec"].update(nvml=True, runtime="dist", device="auto")
    extra = json.loads(json.dumps(by_name["gpipe-m8"]))
    extra["spec"]["name"] = "gpipe-m8-extra"
    benchmarks.remove(by_name["1f1b-m8"])
    benchmarks.append(extra)
    (target / "config.json").write_text(json.dumps(doc))
    rows = _by_name(crosscheck_runs(FIXTURE, target))
    assert "differs from the baseline's in microbatches" in rows["dni-m8"].skipped
    assert rows["gpipe-m8"].verdict in ("met", "missed")
    assert "not in the baseline run" in rows["gpipe-m8-extra"].skipped
    assert "not in the target run" in rows["1f1b-m8"].skipped
    assert math.isnan(rows["1f1b-m8"].measured)


def test_runs_with_nothing_in_common_are_a_user_error(tmp_path: Path) -> None:
    target = _target(tmp_path)
    doc = json.loads((target / "config.json").read_text())
    for entry in doc["benchmarks"]:
        entry["spec"]["name"] = "other-" + entry["spec"]["name"]
    (target / "config.json").write_text(json.dumps(doc))
    with pytest.raises(UserError, match="share no pipeline benchmark"):
        crosscheck_runs(FIXTURE, target)
    with pytest.raises(UserError, match=r"config\.json"):
        crosscheck_runs(FIXTURE, tmp_path / "missing")


def test_command_writes_tidy_rows_and_a_report(tmp_path: Path, capsys) -> None:
    target = _target(tmp_path, slow_stage=1, slow_factor=1.5)
    out = tmp_path / "crosscheck"
    args = ["simulate", "--from", str(FIXTURE), "--predict", str(target), "--out", str(out)]
    assert main(args) == 0
    results = pd.read_csv(out / "results.csv")
    assert set(results["benchmark"]) == set(TRACED)
    wide = results.pivot(index="benchmark", columns="metric", values="value")
    error = wide["predicted_throughput"] / wide["measured_throughput"] - 1
    assert (wide["throughput_error"] - error).abs().max() < 1e-9
    assert (wide["error_target"] == TARGET_STRAGGLER).all()
    report = (out / "report.md").read_text()
    assert "stage 1 slowed 1.5x" in report
    assert "simulated benchmarks within target; largest error" in report
    assert "--predict" in report and (out / "report.html").is_file()
    skipped = json.loads((out / "config.json").read_text())["skipped"]
    assert "single-1t-m8" in skipped and "1f1b-m8" in skipped  # no trace in the frozen run
    assert "within target" in capsys.readouterr().out


def test_command_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    target = _target(tmp_path)
    out = tmp_path / "o"
    base = ["simulate", "--from", str(FIXTURE), "--out", str(out)]
    assert main([*base, "--predict", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert main([*base, "--predict", str(target), "--straggler", "1:1.5"]) == 2
    assert "--straggler: not used with --predict" in capsys.readouterr().err
    assert not out.exists()
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    argv = ["simulate", "--from", str(FIXTURE), "--predict", str(target), "--out", str(occupied)]
    assert main(argv) == 2
    assert "not empty" in capsys.readouterr().err
    assert (occupied / "keep.txt").read_text() == "mine"
    # A target without a straggler is fine, and said so.
    assert main([*base, "--predict", str(target)]) == 0
    assert "has no straggler" in capsys.readouterr().out
    assert "has no straggler" in (out / "report.md").read_text()
