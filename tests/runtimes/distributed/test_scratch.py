"""A launch's temporary folder is removed on every exit path, kill -9 of its owner included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dnibench.runtimes.distributed.scratch import PREFIX, ScratchFolder

OWNER = """
import subprocess, sys, time
from dnibench.runtimes.distributed.scratch import ScratchFolder
folder = ScratchFolder()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
folder.watch(child.pid)
(folder.path / "store").write_text("x")
print(folder.path, flush=True)
time.sleep(60)
"""


def test_the_folder_lives_as_long_as_the_launch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with ScratchFolder() as scratch:
        assert scratch.path.parent == tmp_path and scratch.path.name.startswith(PREFIX)
        (scratch.path / "spec.pkl").write_bytes(b"spec")
    assert list(tmp_path.iterdir()) == []


def test_an_error_in_the_launch_removes_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with pytest.raises(KeyboardInterrupt), ScratchFolder():
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_kill_9_of_the_owner_leaves_no_folder(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert owner.stdout is not None
        folder = Path(owner.stdout.readline().strip())
        assert folder.is_dir()
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 5.0  # the watched child lives 1 s more; then the janitor
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not folder.exists()
    finally:
        owner.kill()
        owner.communicate(timeout=10)
