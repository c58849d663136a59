"""``dnibench report`` on a committed run directory reproduces that run's numbers.

A report is rendered from ``results.csv`` alone, so re-rendering must leave
the results untouched and put the same figures in the tables: this guards the
committed quick baseline (the one CI gates against) through every change to
the report code and the result readers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from dnibench.cli import main
from dnibench.rundir.layout import PLOTS, PYTEST_BENCHMARK, REPORT_HTML, REPORT_MD

COMMITTED = Path(__file__).resolve().parents[2] / "reports" / "quick-cpu2-2026-11-22"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline-run"


def _row(markdown: str, benchmark: str) -> list[str]:
    """The cells of the first table row that starts with ``benchmark``."""
    for line in markdown.splitlines():
        if line.startswith(f"| {benchmark} |"):
            return [cell.strip() for cell in line.strip("|").split("|")]
    raise AssertionError(f"no table row for {benchmark} in report.md")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (COMMITTED / "results.csv").is_file():
        pytest.skip(f"{COMMITTED.name} is not in this checkout")
    copy = tmp_path_factory.mktemp("committed") / COMMITTED.name
    shutil.copytree(COMMITTED, copy)
    for old in ("report.md", "report.html"):
        (copy / old).unlink(missing_ok=True)  # so the assertions read a fresh rendering
    assert main(["report", str(copy)]) == 0
    return copy


def test_rerendering_leaves_the_results_untouched(rendered: Path) -> None:
    assert (rendered / "results.csv").read_bytes() == (COMMITTED / "results.csv").read_bytes()
    assert (rendered / "report.md").is_file() and (rendered / "report.html").is_file()


def test_the_report_shows_the_results_files_numbers(rendered: Path) -> None:
    results = pd.read_csv(rendered / "results.csv")
    markdown = (rendered / "report.md").read_text()
    pipelines = set(results.benchmark[results.metric == "pipeline_efficiency"])
    throughput = results[(results.metric == "throughput") & (results.stage == -1)]
    pipeline = throughput[throughput.benchmark.isin(pipelines)]
    assert pipeline.benchmark.nunique() >= 5
    for benchmark, rows in pipeline.groupby("benchmark"):
        cells = _row(markdown, str(benchmark))
        assert cells[4] == str(rows.repeat.nunique()), f"{benchmark}: repeats"
        assert cells[5] == f"{rows.value.median():.0f}", f"{benchmark}: throughput"
    accuracy = results[results.metric == "test_accuracy"]
    assert not accuracy.empty
    for benchmark, rows in accuracy.groupby("benchmark"):
        assert _row(markdown, str(benchmark))[4] == f"{rows.value.mean():.4f}", benchmark


# Issue 20, defect 15: links planted in a run folder had their targets outside it
# overwritten by `dnibench report DIR`.
@pytest.mark.parametrize("planted", [REPORT_MD, REPORT_HTML, PYTEST_BENCHMARK, PLOTS])
def test_report_writes_nothing_through_a_planted_link(
    tmp_path: Path, planted: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim"
    if planted == PLOTS:
        target.mkdir()
    else:
        target.write_text("keep\n")
    (run / planted).unlink(missing_ok=True)
    (run / planted).symlink_to(target)
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run / planted} is a symbolic link" in err and "Traceback" not in err
    if planted == PLOTS:
        assert list(target.iterdir()) == []
    else:
        assert target.read_text() == "keep\n"
    assert sorted(path.name for path in outside.iterdir()) == ["victim"]
