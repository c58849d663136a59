"""`check` cannot pass on bad data: cut-off rows, too few samples, filtered runs, bad ratios.

Run directories are written by hand (config through the writer, results as
CSV text), so no benchmark runs: each test builds exactly the damage it checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from dnibench.cli import main
from dnibench.cli.exit_codes import EXIT_OK, EXIT_USAGE
from dnibench.gate import Verdict, check_runs
from dnibench.gate.check import RatioSpec
from dnibench.rundir.layout import CONFIG, RESULT_COLUMNS, RESULTS
from dnibench.rundir.writer import prepare

RATIO = {"name": "dni_over_gpipe", "numerator": "dni-m4", "denominator": "gpipe-m4"}


def make_run(
    path: Path,
    names: Sequence[str],
    *,
    repeats: int = 6,
    seed: int = 0,
    only: str | None = None,
    ratios: Sequence[Mapping[str, str]] = (RATIO,),
) -> Path:
    """A run of ``names`` (one throughput row a repeat each), its config written by the writer."""
    command = "dnibench run quick" + (f" --only {only}" if only else "")
    config: dict[str, object] = {"suites": ["quick"], "ratios": list(ratios), "command": command}
    if only is not None:
        config["only"] = only.split(",")
    prepare(path, config, {"machine": "test"})
    rng = np.random.default_rng(seed)
    lines = [",".join(RESULT_COLUMNS)]
    for repeat in range(repeats):
        for name in names:
            mode = name.split("-")[0]
            value = rng.normal(4835.0, 40.0)
            lines.append(f"{name},{mode},2,4,throughput,-1,{repeat},{value!r},samples/s")
    (path / RESULTS).write_text("\n".join(lines) + "\n")
    return path


def check(base: Path, cur: Path, *extra: str) -> list[str]:
    return ["check", "--baseline", str(base), "--current", str(cur), *extra]


def test_a_truncated_baseline_is_an_error_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A crash mid-append leaves `...,4835` cut to `...,48`: never read as a throughput of 48."""
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"])
    cur = make_run(tmp_path / "cur", ["gpipe-m4", "dni-m4"], seed=1)
    text = (base / RESULTS).read_text()
    count = text.count("\n")  # the header and 12 rows: the last row is line 13
    cut = text.rstrip("\n")
    cut = cut[: cut.rindex(",", 0, cut.rindex(",")) + 3]  # "...,0,48": mid-number, no newline
    (base / RESULTS).write_text(cut)
    assert main(check(base, cur)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{base / RESULTS} line {count} is cut off" in err
    assert "delete that partial last line" in err and "Re-run" in err


def test_a_short_row_inside_the_file_is_an_error_too(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"])
    cur = make_run(tmp_path / "cur", ["gpipe-m4", "dni-m4"], seed=1)
    lines = (cur / RESULTS).read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # the unit column gone
    (cur / RESULTS).write_text("\n".join(lines) + "\n")
    assert main(check(base, cur)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{cur / RESULTS} line 4 has 8 fields where the header has 9" in err


def test_an_infinite_value_is_refused_by_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"])
    cur = make_run(tmp_path / "cur", ["gpipe-m4", "dni-m4"], seed=1)
    lines = (cur / RESULTS).read_text().splitlines()
    parts = lines[5].split(",")
    parts[7] = "inf"
    lines[5] = ",".join(parts)
    (cur / RESULTS).write_text("\n".join(lines) + "\n")
    assert main(check(base, cur)) == EXIT_USAGE
    assert "line 6: value inf is not finite" in capsys.readouterr().err


def test_nan_where_a_metric_did_not_apply_is_still_read(tmp_path: Path) -> None:
    """NaN (written `nan`, or left empty) means "did not apply": kept, and the gate skips it."""
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"])
    cur = make_run(tmp_path / "cur", ["gpipe-m4", "dni-m4"], seed=1)
    for run in (base, cur):
        with (run / RESULTS).open("a") as handle:
            handle.write("dni-m4,dni,2,4,pipeline_efficiency,-1,0,nan,ratio\n")
            handle.write("dni-m4,dni,2,4,pipeline_efficiency,-1,1,,ratio\n")
    report = check_runs(base, cur)
    assert not report.failed and not report.inconclusive


def test_no_comparison_with_enough_data_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Two repeats a side cannot reach p < 0.01: every row NOT ENOUGH DATA is no pass."""
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"], repeats=2)
    cur = make_run(tmp_path / "cur", ["gpipe-m4", "dni-m4"], repeats=2, seed=1)
    assert main(check(base, cur)) == EXIT_USAGE
    captured = capsys.readouterr()
    assert "NOT ENOUGH DATA" in captured.out and "NO DECISION" in captured.out
    assert "no comparison had enough data" in captured.err
    assert "check: pass" not in captured.out


def test_two_only_runs_pass_with_the_ratio_not_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`--only gpipe-m4` on both sides: the dni/gpipe ratio was not run, so it is not measured."""
    base = make_run(tmp_path / "base", ["gpipe-m4"], only="gpipe-m4")
    cur = make_run(tmp_path / "cur", ["gpipe-m4"], seed=1, only="gpipe-m4")
    assert main(check(base, cur)) == EXIT_OK
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "dni_over_gpipe" in line)
    assert row.startswith("NOT MEASURED")
    assert "dni-m4 not run in the current (--only gpipe-m4)" in row
    assert "check: pass" in out


def test_only_is_read_from_the_command_of_an_older_run(tmp_path: Path) -> None:
    """Runs written before `only` was recorded still say why: their command has the flag."""
    base = make_run(tmp_path / "base", ["gpipe-m4"], only="gpipe-m4")
    cur = make_run(tmp_path / "cur", ["gpipe-m4"], seed=1, only="gpipe-m4")
    for run in (base, cur):
        config = json.loads((run / CONFIG).read_text())
        del config["only"]
        (run / CONFIG).write_text(json.dumps(config))
    report = check_runs(base, cur, ratios=[RatioSpec(**RATIO)])
    (row,) = [r for r in report.rows if r.kind == "ratio"]
    assert row.verdict == Verdict.NOT_MEASURED and not report.failed


def test_a_ratio_benchmark_that_should_have_run_is_still_missing(tmp_path: Path) -> None:
    """Not measured is only for what --only left out: a benchmark that vanished still fails."""
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"])
    cur = make_run(tmp_path / "cur", ["gpipe-m4"], seed=1, only="gpipe-*,dni-*")
    report = check_runs(base, cur, ratios=[RatioSpec(**RATIO)])
    (row,) = [r for r in report.rows if r.kind == "ratio"]
    assert row.verdict == Verdict.MISSING and report.failed


def test_only_ratios_not_measured_is_no_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = make_run(tmp_path / "base", ["gpipe-m4"], only="gpipe-m4")
    cur = make_run(tmp_path / "cur", ["gpipe-m4"], seed=1, only="gpipe-m4")
    assert main(check(base, cur, "--ratios-only")) == EXIT_USAGE
    assert "no comparison had enough data" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ratio", "message"),
    [
        ({**RATIO, "metrc": "wall"}, "has an unknown key 'metrc' (did you mean 'metric'?)"),
        ({"name": "r", "numerator": "dni-m4"}, "lacks the key 'denominator'"),
    ],
)
def test_a_bad_ratio_in_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, ratio: dict[str, str], message: str
) -> None:
    base = make_run(tmp_path / "base", ["gpipe-m4", "dni-m4"])
    cur = make_run(tmp_path / "cur", ["gpipe-m4", "dni-m4"], seed=1, ratios=[ratio])
    assert main(check(base, cur)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert re.search(re.escape(f"{cur / CONFIG}: ratio 1") + r".*" + re.escape(message), err)
