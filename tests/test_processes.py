"""The session's leftover-process check finds what the tests leave running, orphans included."""

from __future__ import annotations

import os
import subprocess
import uuid

from processes import SESSION_ENV, kill_all, left_behind, tagged, wait_until_gone


def test_a_child_and_an_orphan_left_running_are_found() -> None:
    marker = uuid.uuid4().hex
    env = {**os.environ, SESSION_ENV: marker}
    # sh starts a sleep in the background and exits: the sleep is reparented (an orphan).
    shell = subprocess.run(
        ["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
        env=env, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    orphan = int(shell.stdout.strip())
    child = subprocess.Popen(["sleep", "60"])
    try:
        found = left_behind(os.getpid(), marker)
        assert orphan in found and child.pid in found
        assert "sleep" in found[orphan]
        marked = tagged(SESSION_ENV, marker)
        assert orphan in marked and child.pid not in marked
    finally:
        kill_all([orphan, child.pid])
        child.wait(timeout=10)
    assert wait_until_gone(lambda: left_behind(os.getpid(), marker), 5.0) == {}
