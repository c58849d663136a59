"""A kind added as a folder is checked, run and reported with no edit anywhere else.

The toy study is written into ``tmp_path`` as a package with a ``study``
module and named in ``$DNIBENCH_STUDIES`` (the one registration point, see
:mod:`dnibench.studies.registry`). ``dnibench run`` of a suite that uses it
then validates its keys, runs its items into results.csv and puts its report
section into report.md: nothing in dnibench names it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TOY_STUDY = '''
"""A toy study: one kind whose run is arithmetic, and a report section."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from dnibench.report.section import Section
from dnibench.rundir import writer
from dnibench.rundir.reader import read_results
from dnibench.studies.keys import Key
from dnibench.studies.kind import BenchmarkKind
from dnibench.studies.study import Study


@dataclass(frozen=True)
class ToyConfig:
    size: int = 3
    offset: float = 0.0


@dataclass(frozen=True)
class ToyResult:
    score: float


def _build(item, values):
    return replace(item, config=ToyConfig(values.get("size", 3), values.get("offset", 0.0)))


def _compute(item, repeat, deadline_s):
    return ToyResult(item.config.size * 10 + item.config.offset + repeat)


def _record(out, item, result, repeat, repeats):
    # Every kind records a throughput: the pytest-benchmark export of a run reads it.
    base = {"benchmark": item.name, "mode": "toy", "stages": 1, "microbatches": 1,
            "stage": -1, "repeat": repeat}
    rows = [{**base, "metric": "toy_score", "value": result.score, "unit": "points"},
            {**base, "metric": "throughput", "value": 100.0, "unit": "samples/s"}]
    writer.append_results(out, rows)


def _section(run_dir: Path):
    frame = read_results(run_dir)
    rows = frame[frame.metric == "toy_score"]
    if rows.empty:
        return None
    lines = ["## Toy study", ""]
    lines += [f"- {r.benchmark} r{r.repeat}: {r.value}" for r in rows.itertuples()]
    return Section("\\n".join(lines) + "\\n")


KIND = BenchmarkKind(
    "toy",
    runtimes=("reference",),
    keys=(Key("size", "int", minimum=1), Key("offset", "float")),
    build=_build,
    body=lambda item: item.config,
    compute=_compute,
    record=_record,
    progress=lambda result: f"toy score {result.score:g}",
    figures=lambda result: {"toy_score": result.score},
)

STUDY = Study("toy", rank=90, kinds=(KIND,), sections=(_section,))
'''

SUITE = """
[suite]
description = "a kind that no dnibench module names"
repeats = 2

[[benchmark]]
kind = "toy"
name = "toy-{size}"
size = [2, 5]
offset = 0.5
"""


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The toy study as a folder on the path, and the environment that names it."""
    package = tmp_path / "site" / "toystudy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A study outside dnibench."""\n')
    (package / "study.py").write_text(textwrap.dedent(TOY_STUDY))
    paths = [str(tmp_path / "site"), str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env["DNIBENCH_STUDIES"] = "toystudy"
    env["MPLBACKEND"] = "Agg"
    return tmp_path, env


def _dnibench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dnibench", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_toy_kind_is_checked_run_and_reported(toy: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = toy
    suite = tmp_path / "toy.toml"
    suite.write_text(SUITE)
    out = tmp_path / "run"
    done = _dnibench(env, "run", str(suite), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    with (out / "results.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["metric"] == "toy_score"]
    assert sorted((r["benchmark"], r["repeat"], float(r["value"])) for r in rows) == [
        ("toy-2", "0", 20.5), ("toy-2", "1", 21.5), ("toy-5", "0", 50.5), ("toy-5", "1", 51.5),
    ]  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    entry = config["benchmarks"][0]
    assert entry["kind"] == "toy" and entry["spec"] == {"size": 2, "offset": 0.5}
    report = (out / "report.md").read_text()
    assert "## Toy study" in report and "- toy-5 r1: 51.5" in report
    assert "toy score 51.5" in done.stdout


def test_toy_kind_keys_are_checked(toy: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = toy
    suite = tmp_path / "bad.toml"
    suite.write_text(SUITE.replace("size = [2, 5]", "size = 0"))
    done = _dnibench(env, "run", str(suite), "--out", str(tmp_path / "never"))
    assert done.returncode != 0
    assert "bad.toml" in done.stderr and "'size'" in done.stderr and ">= 1" in done.stderr
    assert not (tmp_path / "never").exists()


def test_without_the_variable_the_kind_is_unknown(toy: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = toy
    env = {k: v for k, v in env.items() if k != "DNIBENCH_STUDIES"}
    suite = tmp_path / "toy.toml"
    suite.write_text(SUITE)
    done = _dnibench(env, "run", str(suite), "--out", str(tmp_path / "never"))
    assert done.returncode != 0 and "'toy' is not allowed" in done.stderr
