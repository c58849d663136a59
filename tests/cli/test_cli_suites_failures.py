"""``dnibench run`` fails loudly: exit 3 when a benchmark failed, unless failures are allowed.

A CI job that runs a suite must see a killed rank or an out-of-memory stage
as a failure, but only after every other result and the report are written;
a benchmark this machine cannot run at all (too few GPUs) is not applicable,
not failed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from dnibench.cli import main

SUITE = """
[suite]
description = "one benchmark that runs, one whose model cannot be allocated"

[defaults]
kind = "pipeline"
microbatches = 2
depth = 2
input_shape = [16]
batch_size = 8
steps = 3
warmup = 1

[[benchmark]]
name = "fits"
mode = "gpipe"
width = 8
runtime = "streams"
device = "cpu"
nvml = false

[[benchmark]]
name = "too-wide"
mode = "gpipe"
width = 1_000_000_000_000
"""

NEEDS_GPUS = """
[[benchmark]]
name = "nccl-gpipe"
mode = "gpipe"
width = 8
backend = "nccl"
"""


def _status(out: Path) -> dict[str, str]:
    with (out / "status.csv").open() as handle:
        return {row["benchmark"]: row["status"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "failing.toml"
    path.write_text(SUITE)
    return path


def test_a_failed_benchmark_exits_3_after_writing_everything(
    suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["run", str(suite), "--out", str(out)]) == 3
    assert _status(out) == {"fits": "ok", "too-wide": "failed"}
    with (out / "results.csv").open() as handle:
        benchmarks = {row["benchmark"] for row in csv.DictReader(handle)}
    assert "fits" in benchmarks and "too-wide" not in benchmarks
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    assert "too-wide" in capsys.readouterr().err


def test_allow_failures_exits_0(suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(suite), "--out", str(out), "--allow-failures"]) == 0
    assert _status(out)["too-wide"] == "failed"


@pytest.mark.skipif(torch.cuda.device_count() >= 2, reason="this machine can run nccl pipelines")
def test_a_benchmark_this_machine_cannot_run_is_not_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "gpus.toml"
    path.write_text(SUITE.split('[[benchmark]]\nname = "too-wide"')[0] + NEEDS_GPUS)
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 0
    assert _status(out) == {"fits": "ok", "nccl-gpipe": "not_applicable"}


def test_help_documents_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for status in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n  {status}" in text, status
