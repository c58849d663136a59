"""Shared fixtures: small real data, a helper to build pipelines, and no process left behind.

:func:`_no_process_outlives_the_tests` fails the test session when a process
started by the tests is still running at its end: a test that starts
dnibench must stop it (and so its ranks and workers) in a ``finally``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import torch
from processes import SESSION_ENV, kill_all, left_behind, wait_until_gone

from dnibench.data import Dataset, load_dataset

GRACE_S = 10.0
"""How long processes may take to end after the last test before the session fails."""


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_tests() -> Iterator[None]:
    """Fail the session if a process the tests started is still running at its end.

    Scans ``/proc`` (no dependency); where there is none, it checks nothing.
    Leftovers are killed, then named in the failure.
    """
    marker = f"{os.getpid()}-{uuid.uuid4().hex}"
    os.environ[SESSION_ENV] = marker
    yield
    if not Path("/proc/self/stat").exists():
        return
    alive = wait_until_gone(partial(left_behind, os.getpid(), marker), GRACE_S)
    kill_all(alive)
    if alive:
        listing = "\n".join(f"  {pid}: {command[:200]}" for pid, command in alive.items())
        pytest.fail(f"{len(alive)} process(es) started by the tests outlived them:\n{listing}")


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    """Keep each test on one intra-op thread so results do not depend on the machine."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)
