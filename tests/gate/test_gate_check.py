"""The regression gate on run directories with known distributions.

Synthetic runs draw every throughput window from a chosen normal
distribution, so each test knows the truth (no change, a 20 % slowdown, a
5 % one) and checks the gate's verdict against it, over many seeds where
the claim is about error rates.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from dnibench.errors import UserError
from dnibench.gate import (
    CheckReport,
    RatioSpec,
    Threshold,
    Verdict,
    check_runs,
    compare_samples,
)
from dnibench.gate.check import samples_needed

REAL_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline-run"
FIELDS = ["benchmark", "mode", "stages", "microbatches", "metric", "stage", "repeat", "value",
          "unit"]  # fmt: skip
Dist = tuple[float, float]  # mean, standard deviation of window throughput


def write_run(
    path: Path,
    benchmarks: Mapping[str, Dist],
    seed: int,
    *,
    repeats: int = 3,
    windows: int = 25,
    efficiency: Mapping[str, Dist] | None = None,
    wall: Mapping[str, Dist] | None = None,
) -> Path:
    """A run directory whose windows are drawn from ``benchmarks[name]``.

    ``windows=0`` writes only the per-repeat ``throughput`` rows, like a run
    from before windows were recorded.
    """
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    rows = []
    for repeat in range(repeats):
        for name, (mean, sd) in benchmarks.items():
            mode = name.split("-")[0]

            def add(metric: str, value: float, unit: str, stage: int = -1, *, _n=name,
                    _m=mode, _r=repeat) -> None:  # fmt: skip
                rows.append([_n, _m, 2, 8, metric, stage, _r, repr(float(value)), unit])

            drawn = rng.normal(mean, sd, max(windows, 1))
            add("throughput", float(np.median(drawn)), "samples/s")
            for index, value in enumerate(drawn[:windows]):
                add(f"throughput_window_{index}", value, "samples/s")
            e_mean, e_sd = (efficiency or {}).get(name, (0.9, 0.01))
            add("pipeline_efficiency", rng.normal(e_mean, e_sd), "ratio")
            w_mean, w_sd = (wall or {}).get(name, (5.0, 0.1))
            add("wall", rng.normal(w_mean, w_sd), "s")
            for stage in (0, 1):
                add("busy_per_microbatch", rng.normal(10, 0.2), "ms", stage)
    with (path / "results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        writer.writerows(rows)
    return path


BASE: dict[str, Dist] = {"dni-m8": (1000, 50), "1f1b-m8": (1000, 50)}


def verdict_of(report: CheckReport, name: str, metric: str = "throughput") -> Verdict:
    (row,) = [r for r in report.rows if r.name == name and r.metric == metric]
    return row.verdict


def test_same_distribution_passes(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", BASE, seed=1)
    cur = write_run(tmp_path / "cur", BASE, seed=2)
    report = check_runs(base, cur, unit="windows")
    assert not report.failed
    assert {row.verdict for row in report.rows} == {Verdict.OK}
    assert all(row.n_baseline == 75 and row.n_current == 75 for row in report.rows)


def test_same_distribution_false_positive_rate_is_low(tmp_path: Path) -> None:
    failures = 0
    for seed in range(20):
        base = write_run(tmp_path / f"base{seed}", BASE, seed=2 * seed)
        cur = write_run(tmp_path / f"cur{seed}", BASE, seed=2 * seed + 1)
        failures += check_runs(base, cur, unit="windows").failed
    assert failures <= 2


def test_twenty_percent_slowdown_is_a_regression_for_every_seed(tmp_path: Path) -> None:
    slow = {"dni-m8": (800, 40), "1f1b-m8": (1000, 50)}
    for seed in range(20):
        base = write_run(tmp_path / f"base{seed}", BASE, seed=2 * seed)
        cur = write_run(tmp_path / f"cur{seed}", slow, seed=2 * seed + 1)
        report = check_runs(base, cur, unit="windows")
        assert report.failed, seed
        (row,) = report.regressions
        assert row.name == "dni-m8"
        assert row.change == pytest.approx(-0.2, abs=0.04)
        assert row.p_value < 0.01
        assert verdict_of(report, "1f1b-m8") != Verdict.REGRESSION


def test_five_percent_slowdown_within_ten_percent_threshold_passes(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", BASE, seed=3)
    cur = write_run(tmp_path / "cur", {"dni-m8": (950, 47.5), "1f1b-m8": (1000, 50)}, seed=4)
    report = check_runs(base, cur, unit="windows")
    assert not report.failed
    assert verdict_of(report, "dni-m8") == Verdict.OK
    # The threshold is what saved it: a tighter one catches the same shift.
    assert check_runs(base, cur, unit="windows", thresholds={"throughput": 0.02}).failed


def test_ratio_drop_is_a_regression_when_checking_ratios_only(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"dni-m8": (2000, 100), "1f1b-m8": (1000, 50)}, seed=5)
    cur = write_run(tmp_path / "cur", {"dni-m8": (1600, 80), "1f1b-m8": (1000, 50)}, seed=6)
    ratio = RatioSpec("dni/1f1b", numerator="dni-m8", denominator="1f1b-m8")
    report = check_runs(base, cur, unit="windows", ratios=[ratio], absolute=False)
    assert report.failed
    (row,) = report.rows
    assert (row.kind, row.name, row.verdict) == ("ratio", "dni/1f1b", Verdict.REGRESSION)
    assert row.baseline_median == pytest.approx(2.0, rel=0.05)
    assert row.change == pytest.approx(-0.2, abs=0.04)
    assert row.n_baseline == row.n_current == 75


def test_faster_machine_passes_ratios_and_shows_improvement_absolutely(tmp_path: Path) -> None:
    base_dists = {"dni-m8": (2000, 100), "1f1b-m8": (1000, 50)}
    doubled = {name: (2 * mean, 2 * sd) for name, (mean, sd) in base_dists.items()}
    base = write_run(tmp_path / "base", base_dists, seed=7)
    cur = write_run(tmp_path / "cur", doubled, seed=8)
    ratio = RatioSpec("dni/1f1b", "dni-m8", "1f1b-m8")
    ratio_only = check_runs(base, cur, unit="windows", ratios=[ratio], absolute=False)
    assert not ratio_only.failed
    assert ratio_only.rows[0].verdict == Verdict.OK
    absolute = check_runs(base, cur, unit="windows", ratios=[ratio])
    assert not absolute.failed
    assert verdict_of(absolute, "dni-m8") == Verdict.IMPROVED
    assert verdict_of(absolute, "1f1b-m8") == Verdict.IMPROVED
    assert verdict_of(absolute, "dni/1f1b", "throughput ratio") == Verdict.OK
    # ...and a slower machine would fail the absolute gate but not the ratio one.
    reverse = check_runs(cur, base, unit="windows", ratios=[ratio])
    assert reverse.failed
    assert verdict_of(reverse, "dni/1f1b", "throughput ratio") == Verdict.OK


def test_missing_benchmark_fails_and_says_why(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {**BASE, "gpipe-m8": (900, 45)}, seed=9)
    cur = write_run(tmp_path / "cur", BASE, seed=10)
    (cur / "status.csv").write_text(
        "benchmark,status,seconds,message\ngpipe-m8,failed,3.0,stage 1 timed out\n"
    )
    report = check_runs(base, cur, unit="windows")
    assert report.failed
    (row,) = report.with_verdict(Verdict.MISSING)
    assert row.name == "gpipe-m8"
    assert "stage 1 timed out" in row.detail
    assert "MISSING" in report.table()


def test_new_benchmark_is_listed_not_failed(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", BASE, seed=11)
    cur = write_run(tmp_path / "cur", {**BASE, "unlock-m8": (1100, 50)}, seed=12)
    report = check_runs(base, cur, unit="windows")
    assert not report.failed
    assert [row.name for row in report.with_verdict(Verdict.NEW)] == ["unlock-m8"]
    assert "NEW" in report.table()


def test_table_puts_regressions_first_with_the_percentage(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {**BASE, "gpipe-m8": (900, 45)}, seed=13)
    cur = write_run(tmp_path / "cur", {"dni-m8": (787, 40), "1f1b-m8": (1000, 50),
                                       "gpipe-m8": (1100, 45)}, seed=14)  # fmt: skip
    report = check_runs(base, cur, unit="windows")
    table = report.table()
    lines = table.splitlines()
    first = lines[3]
    assert first.startswith("REGRESSION") and "dni-m8" in first
    change = re.search(r"-(\d+\.\d)%", first)
    assert change is not None and 17 < float(change.group(1)) < 25
    assert "worse by" in first and "threshold 10%" in first
    assert any(line.startswith("IMPROVED") and "gpipe-m8" in line for line in lines)
    assert lines[-1].startswith("FAIL: 1 regression")
    # Columns line up with the header: every row's metric starts under "metric".
    column = lines[1].index("metric")
    assert all(line[column:].startswith(("throughput", "-")) for line in lines[3:-1])


def test_per_repeat_metric_with_three_repeats_cannot_be_significant(tmp_path: Path) -> None:
    drop = {"dni-m8": (0.7, 0.01)}
    base = write_run(tmp_path / "base", BASE, seed=15)
    cur = write_run(tmp_path / "cur", BASE, seed=16, efficiency=drop)
    report = check_runs(base, cur, unit="windows", metrics=["pipeline_efficiency"])
    assert not report.failed
    row = next(r for r in report.rows if r.name == "dni-m8")
    assert row.verdict == Verdict.NOT_ENOUGH_DATA
    assert row.change == pytest.approx(-0.22, abs=0.03)  # still says what moved
    assert f"record >= {samples_needed(0.01)} repeats" in row.detail
    # With enough repeats the same drop is caught.
    base6 = write_run(tmp_path / "base6", BASE, seed=17, repeats=6)
    cur6 = write_run(tmp_path / "cur6", BASE, seed=18, repeats=6, efficiency=drop)
    report6 = check_runs(base6, cur6, unit="windows", metrics=["pipeline_efficiency"])
    assert verdict_of(report6, "dni-m8", "pipeline_efficiency") == Verdict.REGRESSION


def test_lower_is_better_metrics_regress_upwards(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", BASE, seed=19, repeats=6)
    cur = write_run(tmp_path / "cur", BASE, seed=20, repeats=6,
                    wall={"dni-m8": (6.5, 0.1), "1f1b-m8": (3.5, 0.1)})  # fmt: skip
    report = check_runs(base, cur, unit="windows", metrics=["wall", "busy_per_microbatch"])
    assert verdict_of(report, "dni-m8", "wall") == Verdict.REGRESSION
    assert verdict_of(report, "1f1b-m8", "wall") == Verdict.IMPROVED
    stages = sorted(r.stage for r in report.rows if r.metric == "busy_per_microbatch"
                    and r.name == "dni-m8")  # fmt: skip
    assert stages == [0, 1]
    assert "dni-m8 [stage 1]" in report.table()


def test_runs_without_windows_fall_back_to_repeat_medians(tmp_path: Path) -> None:
    slow = {"dni-m8": (800, 40), "1f1b-m8": (1000, 50)}
    base = write_run(tmp_path / "base", BASE, seed=21, windows=0)
    cur = write_run(tmp_path / "cur", slow, seed=22, windows=0)
    row = next(r for r in check_runs(base, cur, unit="windows").rows if r.name == "dni-m8")
    assert (row.verdict, row.n_baseline) == (Verdict.NOT_ENOUGH_DATA, 3)
    base8 = write_run(tmp_path / "base8", BASE, seed=23, windows=0, repeats=8)
    cur8 = write_run(tmp_path / "cur8", slow, seed=24, windows=0, repeats=8)
    assert verdict_of(check_runs(base8, cur8, unit="windows"), "dni-m8") == Verdict.REGRESSION


def test_ratio_with_a_benchmark_missing_from_current_fails(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", BASE, seed=25)
    cur = write_run(tmp_path / "cur", {"dni-m8": (1000, 50)}, seed=26)
    report = check_runs(
        base, cur, unit="windows", ratios=[RatioSpec("r", "dni-m8", "1f1b-m8")], absolute=False
    )
    assert report.failed
    ratio = next(r for r in report.rows if r.kind == "ratio")
    assert ratio.verdict == Verdict.MISSING and "1f1b-m8" in ratio.detail


def test_session_level_rows_are_not_benchmarks(tmp_path: Path) -> None:
    """A calibration row (no mode) present on one side only is neither missing nor new."""
    base = write_run(tmp_path / "base", BASE, seed=33)
    cur = write_run(tmp_path / "cur", BASE, seed=34)
    with (base / "results.csv").open("a") as handle:
        handle.write("calibration,,0,0,span_cost,-1,0,350.0,ns\n")
    for first, second in ((base, cur), (cur, base)):
        report = check_runs(first, second, unit="windows")
        assert not report.failed
        assert {row.name for row in report.rows} == set(BASE)


def test_real_run_against_itself_passes() -> None:
    ratio = RatioSpec("dni/sequential", "dni-m1", "sequential-m1")
    report = check_runs(REAL_RUN, REAL_RUN, unit="windows", ratios=[ratio])
    assert not report.failed
    assert {row.verdict for row in report.rows} == {Verdict.OK}
    assert len(report.rows) == 24  # 23 benchmarks and the ratio
    row = next(r for r in report.rows if r.kind == "ratio")
    assert 1.4 < row.baseline_median < 1.9  # report.md (medians of repeats) says 1.666


def test_compare_samples_needs_three_a_side() -> None:
    threshold = Threshold.for_metric("throughput")
    verdict, change, p, _ = compare_samples(np.array([1.0, 2.0]), np.ones(10), threshold)
    assert verdict == Verdict.NOT_ENOUGH_DATA and math.isnan(p) and math.isnan(change)
    constant = compare_samples(np.full(10, 5.0), np.full(10, 5.0), threshold)
    assert constant[:3] == (Verdict.OK, 0.0, 1.0)


def _corrupt(kind: str, run: Path) -> None:
    if kind == "no results.csv":
        (run / "results.csv").unlink()
    elif kind == "bad csv":
        (run / "results.csv").write_text('benchmark,metric\n"a,b\nc,d,e,f,g\n')
    elif kind == "missing columns":
        (run / "results.csv").write_text("benchmark,metric,value\ndni-m8,throughput,1\n")
    elif kind == "not a number":
        text = (run / "results.csv").read_text().splitlines()
        parts = text[5].split(",")
        parts[7] = "fast"
        text[5] = ",".join(parts)
        (run / "results.csv").write_text("\n".join(text))
    elif kind == "empty":
        (run / "results.csv").write_text("")
    elif kind == "header only":
        (run / "results.csv").write_text(",".join(FIELDS) + "\n")
    elif kind == "not there":
        shutil.rmtree(run)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("no results.csv", "holds no results.csv"),
        ("bad csv", "not a readable CSV"),
        ("missing columns", "lacks the columns mode, stages"),
        ("not a number", "line 6: value 'fast' is not a number"),
        ("empty", "is empty: no benchmark finished"),
        ("header only", "holds no rows"),
        ("not there", "does not exist"),
    ],
)
def test_corrupt_run_dir_is_a_user_error(tmp_path: Path, kind: str, message: str) -> None:
    base = write_run(tmp_path / "base", BASE, seed=27)
    cur = write_run(tmp_path / "cur", BASE, seed=28)
    _corrupt(kind, cur)
    with pytest.raises(UserError, match=re.escape(message)) as err:
        check_runs(base, cur, unit="windows")
    assert str(cur) in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["thruput"]}, "did you mean 'throughput'"),
        ({"metrics": ["busy_fraction"]}, "no direction that is always better"),
        ({"metrics": ["throughput_window_3"]}, "gate on 'throughput'"),
        ({"metrics": ["sg_cosine"]}, "'sg_cosine' is not recorded"),
        ({"alpha": 1.5}, "alpha must lie strictly between 0 and 1"),
        ({"absolute": False}, "no ratio was given"),
        ({"thresholds": {"throughpt": 0.1}}, "did you mean 'throughput'"),
        ({"thresholds": {"throughput": -0.1}}, "must be >= 0"),
        ({"ratios": [RatioSpec("r", "dni-m9", "1f1b-m8")]}, "did you mean 'dni-m8'"),
        ({"ratios": [RatioSpec("r", "dni-m8", "1f1b-m8", metric="busy")]}, "unknown metric"),
    ],
)
def test_bad_arguments_are_user_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    base = write_run(tmp_path / "base", BASE, seed=29)
    cur = write_run(tmp_path / "cur", BASE, seed=30)
    with pytest.raises(UserError, match="(?i)" + re.escape(message)):
        check_runs(base, cur, unit="windows", **kwargs)


def test_no_benchmark_in_common_is_a_user_error(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", BASE, seed=31)
    cur = write_run(tmp_path / "cur", {"unlock-m1": (1000, 50)}, seed=32)
    with pytest.raises(UserError, match="no benchmark in common") as err:
        check_runs(base, cur, unit="windows")
    assert str(base) in str(err.value) and "unlock-m1" in str(err.value)


def _run_with_launch_noise(path: Path, mean: float, seed: int, repeats: int = 6) -> Path:
    """Windows that share a per-launch offset (sd 15%), as measured on shared machines."""
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True)
    rows = []
    for repeat in range(repeats):
        level = mean * (1 + rng.normal(0, 0.15))
        drawn = rng.normal(level, 0.03 * level, 16)
        rows.append(["gpipe-m4", "gpipe", 2, 4, "throughput", -1, repeat, np.median(drawn), "s"])
        for index, value in enumerate(drawn):
            rows.append(["gpipe-m4", "gpipe", 2, 4, f"throughput_window_{index}", -1, repeat,
                         value, "samples/s"])  # fmt: skip
    with (path / "results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        writer.writerows(rows)
    return path


def test_repeats_are_the_unit_when_launches_vary() -> None:
    """Pooled windows cry wolf on launch-to-launch noise; per-repeat samples do not."""
    import tempfile

    alarms = {"windows": 0, "repeats": 0}
    caught = 0
    for seed in range(20):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            base = _run_with_launch_noise(root / "a", 1000, seed)
            same = _run_with_launch_noise(root / "b", 1000, seed + 100)
            slow = _run_with_launch_noise(root / "c", 500, seed + 200)
            for unit in alarms:
                alarms[unit] += check_runs(base, same, unit=unit).failed
            caught += check_runs(base, slow, unit="repeats").failed
    assert alarms["repeats"] <= 1
    assert alarms["windows"] >= 3  # the failure mode the default avoids (seeded: exact)
    assert caught == 20
