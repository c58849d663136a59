"""The parent of a run killed (kill -9) or stopped (SIGTERM) while its ranks run.

kill -9: no rank alive 2 s later and no temporary folder left, whether the
parent dies right after spawning its first rank (before the rank has loaded
torch) or while the ranks train. SIGTERM: the run stops as on Ctrl-C, keeps
its results, writes its report and exits 143, with no rank and no folder
left. Each run gets its own TMPDIR, so the folders counted are its own.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from processes import kill_all, tagged, wait_until_gone

TAG = "DNIBENCH_TEST_TAG"
RANKS = "dnibench.runtimes.distributed"
RUN = ["run", "quick", "--only", "gpipe-m4", "--repeats", "3"]


def _start(tmp_path: Path, tag: str) -> subprocess.Popen[str]:
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), TAG: tag, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "dnibench", *RUN, "--out", str(tmp_path / "run")]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def _ranks(tag: str) -> dict[int, str]:
    return {pid: command for pid, command in tagged(TAG, tag).items() if RANKS in command}


def _folders(tmp_path: Path) -> list[str]:
    """The launches' temporary folders left in the run's TMPDIR (torch keeps caches there too)."""
    return sorted(path.name for path in (tmp_path / "tmp").glob("dnibench-*"))


def _stop(parent: subprocess.Popen[str], tag: str) -> None:
    parent.kill()
    kill_all(tagged(TAG, tag))  # first: orphans would hold the output pipe open
    parent.communicate(timeout=30)


@pytest.mark.parametrize("moment_s", [0.0, 3.0], ids=["at-spawn", "while-training"])
def test_kill_9_of_the_parent_leaves_no_rank_and_no_folder(tmp_path: Path, moment_s: float) -> None:
    tag = uuid.uuid4().hex
    parent = _start(tmp_path, tag)
    try:
        deadline = time.monotonic() + 180
        while not _ranks(tag):
            assert parent.poll() is None and time.monotonic() < deadline, "no rank started"
            time.sleep(0.002)
        time.sleep(moment_s)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        time.sleep(2.0)
        assert tagged(TAG, tag) == {}, "processes of the run alive 2 s after the parent's death"
        assert _folders(tmp_path) == []
    finally:
        _stop(parent, tag)


def test_sigterm_keeps_results_writes_the_report_and_leaves_nothing(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    parent = _start(tmp_path, tag)
    try:
        assert parent.stdout is not None
        seen, deadline = [], time.monotonic() + 240
        for line in parent.stdout:  # the first launch finished; the second one is starting
            seen.append(line)
            if line.startswith("[1/"):
                break
            assert time.monotonic() < deadline, "".join(seen)
        while not _ranks(tag) and parent.poll() is None:
            time.sleep(0.01)
        parent.send_signal(signal.SIGTERM)
        rest, _ = parent.communicate(timeout=90)
        assert parent.returncode == 143, "".join(seen) + rest
        with (tmp_path / "run" / "status.csv").open() as handle:
            status = [row["status"] for row in csv.DictReader(handle)]
        assert status[0] == "ok" and "interrupted" in status
        assert (tmp_path / "run" / "report.md").exists()
        assert wait_until_gone(lambda: tagged(TAG, tag), 2.0) == {}
        assert _folders(tmp_path) == []
    finally:
        _stop(parent, tag)
