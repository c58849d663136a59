"""A rank that raises, hangs or is killed ends the run quickly, names its stage, loses nothing."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dnibench.bench.session import run_session
from dnibench.rundir.layout import ERRORS
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.harness import RankFailure
from dnibench.runtimes.spec import BenchSpec

RankProcesses = Callable[[], list[int]]


def _spec(name: str, **changes: object) -> BenchSpec:
    base = BenchSpec(
        name=name, mode="gpipe", width=16, depth=3, input_shape=(32,), stages=2,
        microbatches=2, batch_size=16, steps=8, warmup=1, timeout_s=10,
    )  # fmt: skip
    return base.with_(**changes)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("kill:1:3", "stage 1 (rank 1) was killed by signal SIGKILL"),
        ("raise:1:3", "stage 1: RuntimeError: injected fault at step 3"),
        ("hang:1:3", "stage 1 hung: no progress for"),
    ],
)
def test_failing_rank_ends_the_run_and_is_named(
    fault: str, expected: str, rank_processes: RankProcesses
) -> None:
    started = time.monotonic()
    with pytest.raises(RankFailure) as failure:
        launch_local(_spec("faulty", fault=fault), deadline_s=120)
    assert time.monotonic() - started < 60
    assert expected in str(failure.value)
    assert rank_processes() == []


def test_a_hung_peer_rank_is_caught_within_its_timeout_and_named(
    rank_processes: RankProcesses,
) -> None:
    """PyTorch's schedules too: stage 1 hangs, stage 0 waits on it, stage 1's watchdog speaks."""
    spec = _spec("peer-hang", mode="torch-gpipe", fault="hang:1:3", timeout_s=10)
    with pytest.raises(RankFailure) as failure:
        launch_local(spec, deadline_s=600)
    assert str(failure.value).startswith("stage 1 hung: no progress for")
    assert "(timeout_s 10), stopped after step 2 (its last span)" in str(failure.value)
    assert failure.value.stage == 1
    assert rank_processes() == []


def test_partial_results_survive_a_killed_rank(
    tmp_path: Path, rank_processes: RankProcesses
) -> None:
    specs = [_spec("healthy"), _spec("killed", fault="kill:1:3"), _spec("after")]
    results = run_session(specs, tmp_path, deadline_s=120)
    assert [r.spec.name for r in results] == ["healthy", "after"]
    with (tmp_path / "status.csv").open() as handle:
        status = {row["benchmark"]: row for row in csv.DictReader(handle)}
    assert status["healthy"]["status"] == "ok" and status["after"]["status"] == "ok"
    assert status["killed"]["status"] == "failed"
    assert "stage 1" in status["killed"]["message"]
    assert float(status["killed"]["seconds"]) < 60
    with (tmp_path / "results.csv").open() as handle:
        benchmarks = {row["benchmark"] for row in csv.DictReader(handle)}
    assert benchmarks == {"calibration", "healthy", "after"}
    assert (tmp_path / "traces" / "healthy.json.gz").exists()
    assert rank_processes() == []


def test_a_ranks_traceback_goes_to_the_error_log_not_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], rank_processes: RankProcesses
) -> None:
    lines: list[str] = []
    specs = [_spec("raising", fault="raise:1:3", steps=5)]
    run_session(specs, tmp_path, deadline_s=120, on_result=lambda i, r, m: lines.append(m))
    terminal = capfd.readouterr()
    assert "Traceback" not in terminal.err + terminal.out
    assert lines == ["stage 1: RuntimeError: injected fault at step 3"]
    log = (tmp_path / ERRORS).read_text()
    header = "--- stage 1 (rank 1) ---\nstage 1: RuntimeError: injected fault at step 3\n"
    assert header + "Traceback" in log
    assert "in on_step" in log and "injected fault at step 3" in log  # the rank's own frames
    assert rank_processes() == []


def test_a_run_directory_is_never_overwritten(tmp_path: Path) -> None:
    run_session([_spec("once", steps=3)], tmp_path, deadline_s=120)
    before = (tmp_path / "results.csv").read_bytes()
    with pytest.raises(Exception, match="already holds a run"):
        run_session([_spec("twice", steps=3)], tmp_path)
    assert (tmp_path / "results.csv").read_bytes() == before
