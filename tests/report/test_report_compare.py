"""Comparing runs: ratios to the first run, faceted plots, clear errors, no silent overwrite."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.report import RunData, compare_runs, load_run
from dnibench.report.compare import compare_table


def table_rows(md: str, section: str) -> dict[str, list[str]]:
    """Rows of the Markdown table under ``## section``, keyed by their first cell."""
    body = md.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in body.splitlines():
        if line.startswith("| ") and not line.startswith("| benchmark"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def two_runs(make_run: Callable[..., Path]) -> tuple[Path, Path]:
    cpu = make_run("cpu-run", pipelines=("gpipe-m8", "dni-m8", "only-cpu"))
    gpu = make_run("gpu-run", scale=2.0, gpu=True)
    return cpu, gpu


def test_ratios_to_the_first_run(
    two_runs: tuple[Path, Path], tmp_path: Path, png_ok: Callable[[Path], bool]
) -> None:
    out = tmp_path / "cmp"
    md_path, html_path = compare_runs(list(two_runs), out)
    assert (md_path, html_path) == (out / "compare.md", out / "compare.html")
    md = md_path.read_text()
    thr = table_rows(md, "Throughput (samples/s)")
    # columns: cpu value, gpu value, gpu / cpu
    assert thr["gpipe-m8"] == ["2020", "4040", "2.00"]
    assert thr["dni-m8"][2] == "2.00"
    assert thr["train-dni"] == ["5000", "10000", "2.00"]
    assert table_rows(md, "Pipeline efficiency")["dni-m8"] == ["0.900", "0.900", "1.00"]
    assert table_rows(md, "Final test accuracy")["train-backprop"][2] == "1.00"
    assert "cpu-run (cpu)" in md and "gpu-run (gpu)" in md
    assert "only in cpu-run: only-cpu" in md
    for stem in ("compare_throughput", "compare_efficiency"):
        assert png_ok(out / "plots" / f"{stem}.png")
        assert f"](plots/{stem}.png)" in md
    html = html_path.read_text()
    assert re.findall(r'<img src="([^"]+)"', html) == [
        "plots/compare_throughput.png",
        "plots/compare_efficiency.png",
    ]
    assert '<td class="r">2.00</td>' in html


def test_compare_table_directly(two_runs: tuple[Path, Path]) -> None:
    runs: list[RunData] = [load_run(d) for d in two_runs]
    table = compare_table(runs, ["a", "b"], "throughput", ".1f", ["gpipe-m8", "nowhere"])
    assert table is not None
    assert table.columns == ["benchmark", "a (cpu)", "b (gpu)", "b / a"]
    assert table.rows == [["gpipe-m8", "2020.0", "4040.0", "2.00"]]
    assert compare_table(runs, ["a", "b"], "no_such_metric", ".1f", ["gpipe-m8"]) is None


def test_same_names_get_parent_labels(make_run: Callable[..., Path], tmp_path: Path) -> None:
    first = make_run("a/run", trainings=())
    second = make_run("b/run", trainings=(), scale=0.5)
    md, _ = compare_runs([first, second], tmp_path / "out")
    rows = table_rows(md.read_text(), "Throughput (samples/s)")
    assert rows["gpipe-m8"][2] == "0.50"
    assert "b/run / a/run" in md.read_text()
    assert "Final test accuracy" not in md.read_text()


def test_refuses_to_overwrite(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    md, _ = compare_runs(list(two_runs), out)
    before = md.read_text()
    with pytest.raises(UserError, match=r"refusing to overwrite .*compare\.md"):
        compare_runs(list(reversed(two_runs)), out)
    assert md.read_text() == before
    (out / "compare.md").unlink()
    with pytest.raises(UserError, match=r"compare_throughput\.png"):
        compare_runs(list(two_runs), out)  # the old plots are still there


def test_output_inside_a_run_is_refused(two_runs: tuple[Path, Path]) -> None:
    cpu, gpu = two_runs
    for out in (cpu, gpu / "compare"):
        with pytest.raises(UserError, match="inside the run directory"):
            compare_runs([cpu, gpu], out)
    assert not (cpu / "compare.md").exists() and not (gpu / "compare").exists()


def test_bad_argument_lists(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    cpu, _ = two_runs
    with pytest.raises(UserError, match="at least two"):
        compare_runs([cpu], tmp_path / "out")
    with pytest.raises(UserError, match="listed twice"):
        compare_runs([cpu, cpu.parent / ".." / cpu.parent.name / cpu.name], tmp_path / "out")


def corrupt(run_dir: Path, how: str) -> str:
    """Damage ``run_dir`` one way; return a pattern the error message must contain."""
    results = run_dir / "results.csv"
    if how == "missing-dir":
        for path in sorted(run_dir.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        run_dir.rmdir()
        return "does not exist"
    if how == "no-results":
        results.unlink()
        return "holds no results.csv.*finished `dnibench run`"
    if how == "empty":
        results.write_text("")
        return "results.csv is empty"
    if how == "garbage":
        results.write_text('benchmark,metric\n"unterminated,1\nx,2,3,4,5\n')
        return "not a readable CSV"
    if how == "columns":
        results.write_text("benchmark,metric,value\ngpipe-m8,throughput,1\n")
        return "lacks the column.*mode.*stage"
    if how == "text-values":
        lines = results.read_text().splitlines()
        lines[1] = lines[1].rsplit(",", 2)[0] + ",fast,samples/s"
        results.write_text("\n".join(lines) + "\n")
        return "results.csv line 2: value 'fast' is not a number; the file is corrupt"
    if how == "fingerprint":
        (run_dir / "fingerprint.json").write_text("{oops")
        return "fingerprint.json is not readable JSON"
    if how == "curves":
        (run_dir / "curves.csv").write_text("benchmark,repeat\nx,0\n")
        return "curves.csv lacks the column"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    ["missing-dir", "no-results", "empty", "garbage", "columns", "text-values", "fingerprint",
     "curves"],
)  # fmt: skip
def test_broken_runs_give_user_errors(
    two_runs: tuple[Path, Path], tmp_path: Path, how: str
) -> None:
    cpu, gpu = two_runs
    pattern = corrupt(gpu, how)
    with pytest.raises(UserError, match=pattern) as err:
        load_run(gpu)
    assert str(gpu) in str(err.value)
    with pytest.raises(UserError, match=pattern):
        compare_runs([cpu, gpu], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_file_instead_of_directory(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("x\n")
    with pytest.raises(UserError, match="is a file, not a run directory"):
        load_run(path)
