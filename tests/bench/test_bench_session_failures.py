"""Every benchmark run is a unit of failure: whatever it raises fails that run only.

dnibench's own errors (a failed rank, a user error) were always caught; an
OSError, a MemoryError or any other exception must fail that benchmark too,
with one plain line saying what it was doing and why, its traceback in the
run's error log, and the suite going on.
"""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import pytest

import dnibench.bench.run as bench_run
from dnibench.bench.session import failure_line, run_session
from dnibench.rundir.layout import ERRORS, STATUS, TRACES, trace_name
from dnibench.runtimes.harness import RankFailure
from dnibench.runtimes.spec import BenchSpec


def _spec(name: str) -> BenchSpec:
    return BenchSpec(
        name=name, mode="gpipe", width=8, depth=2, input_shape=(16,), microbatches=2,
        batch_size=8, steps=3, warmup=1, runtime="streams", device="cpu", nvml=False,
    )  # fmt: skip


def _status(out: Path) -> dict[str, dict[str, str]]:
    with (out / STATUS).open() as handle:
        return {row["benchmark"]: row for row in csv.DictReader(handle)}


def test_an_os_error_writing_a_trace_fails_that_benchmark_only(tmp_path: Path) -> None:
    """A folder where the trace should go (as a too-long name would): the write raises OSError."""
    out = tmp_path / "run"
    (out / TRACES / trace_name("blocked") / "planted").mkdir(parents=True)
    results = run_session([_spec("blocked"), _spec("after")], out)
    assert [r.spec.name for r in results] == ["after"]
    status = _status(out)
    assert status["blocked"]["status"] == "failed" and status["after"]["status"] == "ok"
    line = status["blocked"]["message"]
    assert line.startswith("while recording its results: ") and "Error" in line
    assert "\n" not in line
    with (out / "results.csv").open() as handle:
        benchmarks = {row["benchmark"] for row in csv.DictReader(handle)}
    assert benchmarks == {"calibration", "after"}  # no rows of the failed run
    log = (out / ERRORS).read_text()
    assert "blocked repeat 0" in log and "Traceback (most recent call last)" in log


def test_any_exception_fails_that_benchmark_and_the_suite_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bench_run.run_benchmark

    def run(spec: BenchSpec, *, deadline_s: float | None = None) -> object:
        if spec.name == "no-memory":
            raise MemoryError
        if spec.name == "bug":
            raise KeyError("a bug")
        return real(spec, deadline_s=deadline_s)

    monkeypatch.setattr(bench_run, "run_benchmark", run)
    out = tmp_path / "run"
    run_session([_spec("no-memory"), _spec("bug"), _spec("after")], out)
    status = _status(out)
    assert status["no-memory"]["status"] == "failed"
    assert status["no-memory"]["message"].startswith("while running: out of memory")
    assert status["bug"]["message"] == "while running: KeyError: 'a bug'"
    assert status["after"]["status"] == "ok"
    assert (out / ERRORS).read_text().count("Traceback") == 2


def test_the_failure_line_names_the_cause() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/run/x")
    assert failure_line(full, "while recording its results").startswith(
        "while recording its results: the disk is full"
    )
    long = OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300)
    assert failure_line(long).startswith("a file name is too long for the file system")
    alloc = RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 4 B")
    assert failure_line(alloc, "while running").startswith("while running: out of memory")
    kept = RankFailure("stage 1 (rank 1) was killed by signal SIGKILL", stage=1)
    assert failure_line(kept, "while running") == str(kept)
