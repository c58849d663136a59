"""Spawn one process per stage on this machine and watch them.

The parent never takes part in the pipeline: it starts the ranks, polls
them, and on the first rank that exits badly it stops the rest, so no rank is
left hanging and the failure names the stage that caused it. A rank's stderr
goes to a file of the launch's folder: on a failure every rank's output (its
traceback) travels with the :class:`RankFailure` to the run's error log, and
the terminal gets one line; after a clean run it is passed on to stderr. Each child
starts in :mod:`rank`, which asks the kernel to kill it if the parent dies
(``PR_SET_PDEATHSIG``) before anything heavy is imported; Ctrl-C, SIGTERM or
SIGHUP in the parent terminate every child before it returns, so nothing is
left orphaned. The launch's temporary folder belongs to a janitor
(:mod:`scratch`) that removes it on every exit path, ``kill -9`` included.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from dnibench.runtimes.distributed.scratch import ScratchFolder
from dnibench.runtimes.distributed.worker import init_group, run_rank
from dnibench.runtimes.harness import RankFailure, RankResult
from dnibench.runtimes.spec import BenchSpec

GRACE_S = 5.0
RANK_MODULE = "dnibench.runtimes.distributed.rank"
"""A spawned rank's module (``python -m``): arms die-with-parent, then runs :func:`rank_entry`."""


def rank_entry(workdir: str, rank: int, world: int) -> None:
    """Body of a spawned rank: run, then leave the results (rank 0) or an error file."""
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
        traceback.print_exc(file=sys.stderr)  # the launch's file: the run's error log gets it
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


def _output_path(workdir: Path, rank: int) -> Path:
    return workdir / f"stderr-{rank}.txt"


def _ranks_output(workdir: Path, world: int) -> str:
    """Every rank's error line and stderr under a header naming its stage (empty ones left out)."""
    parts = []
    for rank in range(world):
        texts = []
        for path in (workdir / f"error-{rank}.txt", _output_path(workdir, rank)):
            text = path.read_text(errors="replace").strip() if path.exists() else ""
            if text:
                texts.append(text)
        if texts:
            parts.append(f"--- stage {rank} (rank {rank}) ---\n" + "\n".join(texts) + "\n")
    return "".join(parts)


def _failure(workdir: Path, rank: int, exitcode: int | None) -> RankFailure:
    """The one line for the failed rank: its own error (which names its stage), else how it ended.

    Its neighbours' errors (their receives timing out on it) go to the error log
    with the ranks' output, not into the line.
    """
    own = workdir / f"error-{rank}.txt"
    detail = " ".join(own.read_text().split()) if own.exists() else ""
    if detail:
        return RankFailure(detail, stage=rank)
    if exitcode is not None and exitcode < 0:
        how = f"was killed by signal {signal.Signals(-exitcode).name}"
    else:
        how = f"exited with status {exitcode}"
    return RankFailure(f"stage {rank} (rank {rank}) {how}", stage=rank)


def _with_output(failure: RankFailure, workdir: Path, world: int) -> RankFailure:
    failure.output = _ranks_output(workdir, world)
    return failure


def launch_local(spec: BenchSpec, *, deadline_s: float | None = None) -> list[RankResult]:
    """Run ``spec`` on ``spec.world_size`` local processes; returns every rank's result.

    Raises :class:`RankFailure` naming the first stage that failed, after all
    other ranks have been stopped. ``deadline_s`` bounds the whole run.
    """
    with ScratchFolder() as scratch:
        workdir = scratch.path
        world = spec.world_size
        (workdir / "spec.pkl").write_bytes(pickle.dumps(spec))
        processes: list[subprocess.Popen] = []
        started = time.monotonic()
        try:
            for rank in range(world):
                command = [sys.executable, "-m", RANK_MODULE, str(workdir), str(rank), str(world)]
                with _output_path(workdir, rank).open("wb") as stderr:
                    processes.append(
                        subprocess.Popen(
                            [*command, str(os.getpid())], env=rank_environment(), stderr=stderr
                        )
                    )
                scratch.watch(processes[-1].pid)
            while True:
                codes = [process.poll() for process in processes]
                failed = [rank for rank, code in enumerate(codes) if code not in (None, 0)]
                if failed:
                    first = _first_failure(workdir, failed)
                    _stop(processes)
                    raise _with_output(_failure(workdir, first, codes[first]), workdir, world)
                if all(code == 0 for code in codes):
                    break
                if deadline_s is not None and time.monotonic() - started > deadline_s:
                    _stop(processes)
                    late = RankFailure(f"benchmark {spec.name} exceeded {deadline_s:g} s", -1)
                    raise _with_output(late, workdir, world)
                time.sleep(0.05)
        except BaseException:
            _stop(processes)
            raise
        output = _ranks_output(workdir, world)
        if output:  # warnings of a clean run: nothing is hidden
            sys.stderr.write(output)
            sys.stderr.flush()
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


LOOPBACK = "127.0.0.1"
_SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


def loopback_interface() -> str | None:
    """The name of the interface whose address is 127.0.0.1 (``lo`` on Linux), if found."""
    import fcntl
    import socket
    import struct

    try:
        names = [name for _, name in socket.if_nameindex()]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            for name in names:
                request = struct.pack("256s", name.encode()[:15])
                try:
                    answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
                except OSError:  # no IPv4 address on this interface
                    continue
                if socket.inet_ntoa(answer[20:24]) == LOOPBACK:
                    return name
    except OSError:
        pass
    return None


def rank_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a locally spawned rank: gloo and nccl pinned to the loopback interface.

    Local ranks talk only to each other, so nothing they open may listen on another
    interface: gloo otherwise binds where the host name resolves, a LAN address on many
    hosts. The rendezvous is a file store, and the address is set to 127.0.0.1 as well.
    nccl's bootstrap socket (and its socket transport, where no GPU link is used) binds to
    ``NCCL_SOCKET_IFNAME``: it is pinned to loopback too, unless the user set it (an nccl
    setting is often site policy, e.g. to exclude a docker bridge). A multi-node run goes
    through torchrun, whose MASTER_ADDR and GLOO_SOCKET_IFNAME are the user's (README:
    multi-node).
    """
    env = dict(os.environ if base is None else base)
    env["MASTER_ADDR"] = LOOPBACK
    interface = loopback_interface()
    if interface is not None:
        env["GLOO_SOCKET_IFNAME"] = interface
        env.setdefault("NCCL_SOCKET_IFNAME", interface)
    return env
