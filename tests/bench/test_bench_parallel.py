"""`dnibench run --jobs 2`: Ctrl-C, SIGTERM or SIGHUP on the parent stops every worker and
keeps what finished (exit 130, 143, 129); the report is written and no worker is left."""

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
from processes import default_stop_signals, kill_all, tagged

SUITE = """
[suite]
description = "one quick and three long character LMs"
repeats = 1

[[benchmark]]
name = "quick"
kind = "rnn"
data = "text"
width = 8
batch_size = 4
chars = 400
eval_every = 200
eval_chars = 100

[[benchmark]]
name = "long-T{truncation}"
kind = "rnn"
data = "text"
truncation = [8, 9, 10]
width = 8
batch_size = 4
chars = 50000000
eval_every = 10000000
eval_chars = 100
"""


def tagged_workers(tag: str) -> list[int]:
    """Live processes started under this test's tag (the parent's spawned workers)."""
    found = tagged("DNIBENCH_TEST_TAG", tag)
    return [pid for pid, command in found.items() if "multiprocessing" in command]


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_to_the_parent_stops_the_workers_and_keeps_results(
    tmp_path: Path, signum: int, status: int
) -> None:
    suite, book, out = tmp_path / "lm.toml", tmp_path / "book.txt", tmp_path / "run"
    suite.write_text(SUITE)
    book.write_text("sphinx of black quartz, judge my vow. " * 60)
    tag = uuid.uuid4().hex
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DNIBENCH_TEST_TAG": tag}
    command = [sys.executable, "-m", "dnibench", "run", str(suite), "--jobs", "2",
               "--text-path", str(book), "--out", str(out)]  # fmt: skip
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
        seen, deadline = [], time.monotonic() + 240
        for line in parent.stdout:  # the quick run finishes; the long ones are then running
            seen.append(line)
            if line.startswith("[1/"):
                break
            assert time.monotonic() < deadline, "".join(seen)
        time.sleep(2.0)
        assert tagged_workers(tag), "no worker was running: " + "".join(seen)
        parent.send_signal(signum)  # the parent alone, as kill would
        rest, _ = parent.communicate(timeout=90)
        assert parent.returncode == status, "".join(seen) + rest
        with (out / "status.csv").open() as handle:
            states = {row["benchmark"]: row["status"] for row in csv.DictReader(handle)}
        assert states["quick"] == "ok"
        assert {states[f"long-T{t}"] for t in (8, 9, 10)} == {"interrupted"}
        assert (out / "report.md").exists()
        time.sleep(1.0)
        assert tagged_workers(tag) == []
    finally:  # a failing test must not leave its run training (it would for minutes)
        parent.kill()
        kill_all(tagged_workers(tag))  # first: orphans would hold the output pipe open
        parent.communicate(timeout=30)


def test_a_workers_traceback_lands_in_the_error_log(tmp_path: Path) -> None:
    from dnibench.bench.session import run_session
    from dnibench.rundir.layout import ERRORS, STATUS
    from dnibench.studies.item import Item
    from dnibench.studies.recurrent.config import RecurrentConfig

    missing = tmp_path / "gone.txt"  # checked by `run` before it starts; removed since
    config = RecurrentConfig(kind="rnn", data="text", text_path=missing, width=8, chars=400,
                             eval_every=200, eval_chars=100)  # fmt: skip
    items = [Item(name=f"lost-{k}", kind="rnn", runtime="reference", recurrent=config)
             for k in range(2)]  # fmt: skip
    out = tmp_path / "run"
    assert run_session(items, out, jobs=2) == []
    with (out / STATUS).open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["status"] for row in rows] == ["failed", "failed"]
    log = (out / ERRORS).read_text()
    assert log.count("=== ") == 2 and "lost-0 repeat 0" in log and "lost-1 repeat 0" in log
    assert "Traceback (most recent call last):\n  File" in log and "in _compute" in log
