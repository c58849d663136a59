"""Spawn one process per stage on this machine and watch them.

The parent never takes part in the pipeline: it starts the ranks, polls
them, and on the first rank that exits badly it stops the rest, so no rank is
left hanging and the failure names the stage that caused it. Each child asks
the kernel to kill it if the parent dies (``PR_SET_PDEATHSIG``), and Ctrl-C
in the parent terminates every child before it returns, so nothing is left
orphaned.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from dnibench.runtimes.distributed.worker import init_group, run_rank
from dnibench.runtimes.harness import RankFailure, RankResult
from dnibench.runtimes.spec import BenchSpec

_PR_SET_PDEATHSIG = 1
GRACE_S = 5.0


def _die_with_parent() -> None:
    """Linux: deliver SIGKILL to this process when its parent exits."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def _rank_entry(workdir: str, rank: int, world: int) -> None:
    """Body of a spawned rank: run, then leave the results (rank 0) or an error file."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides on Ctrl-C
    import torch.distributed as dist

    folder = Path(workdir)
    spec: BenchSpec = pickle.loads((folder / "spec.pkl").read_bytes())

    def hung(message: str) -> None:  # from the watchdog thread: this rank is stuck
        (folder / f"error-{rank}.txt").write_text(message + "\n")
        sys.stderr.flush()
        os._exit(1)

    try:
        init_group(spec, rank, world, folder / "store")
        results = run_rank(spec, rank, world, abort=hung)
        if results is not None:
            (folder / "results.pkl").write_bytes(pickle.dumps(results))
        dist.barrier()
        dist.destroy_process_group()
    except BaseException as err:
        (folder / f"error-{rank}.txt").write_text(f"stage {rank}: {type(err).__name__}: {err}\n")
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    # Skip interpreter teardown: gloo's worker threads can abort() in static
    # destructors after a clean run, which would read as a failed rank.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + GRACE_S
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _failure(workdir: Path, rank: int, exitcode: int | None) -> RankFailure:
    # The failed rank's own error first: the others are its neighbours noticing.
    own = f"error-{rank}.txt"
    errors = sorted(sorted(workdir.glob("error-*.txt")), key=lambda path: path.name != own)
    detail = " ".join(path.read_text().strip() for path in errors)
    if exitcode is not None and exitcode < 0:
        how = f"was killed by signal {signal.Signals(-exitcode).name}"
    else:
        how = f"exited with status {exitcode}"
    message = f"stage {rank} (rank {rank}) {how}"
    if detail:
        message += f"; {detail}"
    return RankFailure(message, stage=rank)


def launch_local(spec: BenchSpec, *, deadline_s: float | None = None) -> list[RankResult]:
    """Run ``spec`` on ``spec.world_size`` local processes; returns every rank's result.

    Raises :class:`RankFailure` naming the first stage that failed, after all
    other ranks have been stopped. ``deadline_s`` bounds the whole run.
    """
    with tempfile.TemporaryDirectory(prefix="dnibench-") as tmp:
        workdir = Path(tmp)
        world = spec.world_size
        (workdir / "spec.pkl").write_bytes(pickle.dumps(spec))
        processes: list[subprocess.Popen] = []
        started = time.monotonic()
        try:
            for rank in range(world):
                command = [sys.executable, "-m", __name__, tmp, str(rank), str(world)]
                processes.append(subprocess.Popen(command))
            while True:
                codes = [process.poll() for process in processes]
                failed = [rank for rank, code in enumerate(codes) if code not in (None, 0)]
                if failed:
                    first = _first_failure(workdir, failed)
                    _stop(processes)
                    raise _failure(workdir, first, codes[first])
                if all(code == 0 for code in codes):
                    break
                if deadline_s is not None and time.monotonic() - started > deadline_s:
                    _stop(processes)
                    raise RankFailure(f"benchmark {spec.name} exceeded {deadline_s:g} s", -1)
                time.sleep(0.05)
        except BaseException:
            _stop(processes)
            raise
        return pickle.loads((workdir / "results.pkl").read_bytes())


def _first_failure(workdir: Path, failed: list[int]) -> int:
    """The root cause among ranks seen failing in the same poll.

    A rank that left no error file was killed from outside and is the cause;
    otherwise the earliest error file wins (later ones are neighbours timing
    out on it).
    """
    stamped = []
    for rank in failed:
        path = workdir / f"error-{rank}.txt"
        if not path.exists():
            return rank
        stamped.append((path.stat().st_mtime_ns, rank))
    return min(stamped)[1]


if __name__ == "__main__":
    _rank_entry(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
