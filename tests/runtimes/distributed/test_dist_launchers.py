"""Launch paths a user takes: torchrun as two nodes, and Ctrl-C during a run."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from processes import default_stop_signals


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_torchrun_nodes_run_a_dni_benchmark(tmp_path: Path) -> None:
    port = _free_port()
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
        "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "dni",
        "-m", "dnibench", "bench", "--mode", "dni", "--stages", "2", "--steps", "6",
        "--warmup", "2", "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    nodes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = []
    try:
        for node in nodes:
            out, _ = node.communicate(timeout=240)
            outputs.append(out)
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(outputs)
    assert sum("torchrun: 2 ranks" in out for out in outputs) == 1
    with (tmp_path / "run" / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    throughput = [r for r in rows if r["metric"] == "throughput"]
    assert len(throughput) == 1 and float(throughput[0]["value"]) > 0
    assert {r["stage"] for r in rows if r["metric"] == "busy_fraction"} == {"0", "1"}


def test_ctrl_c_keeps_results_and_leaves_no_rank(
    tmp_path: Path, rank_processes: Callable[[], list[int]]
) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "dnibench", "run", "pipeline", "--only", "*gpipe-m8*",
        "--repeats", "1", "--out", str(out),
    ]  # fmt: skip
    parent = subprocess.Popen(  # SIGINT as a terminal gives it, even if this run ignores it
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=default_stop_signals,
    )
    try:
        assert parent.stdout is not None
        seen = []
        deadline = time.monotonic() + 180
        for line in parent.stdout:
            seen.append(line)
            if line.startswith("[1/"):
                break
            assert time.monotonic() < deadline, "".join(seen)
        time.sleep(2.0)  # the second benchmark's ranks are up
        parent.send_signal(signal.SIGINT)
        rest, _ = parent.communicate(timeout=60)
    finally:  # a failing test must not leave its run going (its ranks die with it)
        parent.kill()
        parent.communicate(timeout=60)
    assert parent.returncode == 130, "".join(seen) + rest
    assert "results so far are kept" in rest
    with (out / "status.csv").open() as handle:
        status = {row["benchmark"]: row["status"] for row in csv.DictReader(handle)}
    assert status["gpipe-m8"] == "ok"
    assert "interrupted" in status.values()
    assert (out / "report.md").exists()
    assert rank_processes() == []
