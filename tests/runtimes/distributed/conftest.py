"""Fixtures of the dist tests: which rank processes a test left behind.

The machine is shared: other runs of dnibench may have ranks alive at the
same time, so a test counts only the processes that carry its own tag in
their environment (inherited from the test through every launcher).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

RANK_MODULE = b"dnibench.runtimes.distributed.rank"


@pytest.fixture
def rank_processes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[int]]:
    """A function listing the live rank processes started under this test (their pids)."""
    tag = f"DNIBENCH_TEST_TAG={os.getpid()}-{uuid.uuid4().hex}".encode()
    monkeypatch.setenv("DNIBENCH_TEST_TAG", tag.decode().split("=", 1)[1])

    def live() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile, or not ours to read
                continue
            if tag in environ and RANK_MODULE in cmdline:
                found.append(int(entry.name))
        return found

    return live
