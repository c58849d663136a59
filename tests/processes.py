"""Which processes the tests left running, read from ``/proc`` (Linux; no dependency).

Used by the session fixture in ``conftest.py`` and by the fault-injection
tests, which tag the processes they start through an environment variable
(inherited by every rank and worker, and still readable once a process has
been reparented to init).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

SESSION_ENV = "DNIBENCH_TEST_SESSION"
"""Set for the whole session, so every process the tests start carries it in its environment."""
#: Helpers of the interpreter itself that end with pytest (an in-process ``--jobs`` pool's).
OWN_HELPERS = (b"multiprocessing.resource_tracker", b"multiprocessing.forkserver")


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0]


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process now."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (row := _parent_and_state(int(entry.name))) is not None:
            table[int(entry.name)] = row
    return table


def _command_and_environ(pid: int) -> tuple[str, list[bytes]] | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    return cmdline.replace(b"\0", b" ").decode(errors="replace").strip(), environ


def tagged(name: str, value: str) -> dict[int, str]:
    """Live processes (not zombies) whose environment holds ``name=value``: pid -> command."""
    tag = f"{name}={value}".encode()
    found: dict[int, str] = {}
    for pid, (_, state) in _process_table().items():
        if pid == os.getpid() or state in ("Z", "X"):
            continue
        read = _command_and_environ(pid)
        if read is not None and tag in read[1]:
            found[pid] = read[0]
    return found


def left_behind(session_pid: int, marker: str) -> dict[int, str]:
    """Live processes (not zombies) started under this session: pid -> command line.

    A process counts when it descends from ``session_pid`` or carries
    ``SESSION_ENV=marker`` in its environment (an orphan reparented to init
    still does). Helpers of pytest's own interpreter (:data:`OWN_HELPERS`) do not.
    """
    tag = f"{SESSION_ENV}={marker}".encode()
    table = _process_table()
    found: dict[int, str] = {}
    for pid, (parent, state) in table.items():
        if pid == session_pid or state in ("Z", "X"):
            continue
        ancestor, hops = pid, 0
        while ancestor in table and ancestor != session_pid and hops < 64:
            ancestor, hops = table[ancestor][0], hops + 1
        read = _command_and_environ(pid)
        if read is None or (ancestor != session_pid and tag not in read[1]):
            continue
        command = read[0]
        if parent == session_pid and any(helper.decode() in command for helper in OWN_HELPERS):
            continue
        found[pid] = command
    return found


def wait_until_gone(find: Callable[[], dict[int, str]], timeout_s: float) -> dict[int, str]:
    """Poll ``find()`` (pid -> command) until it finds nothing or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while (alive := find()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return dict(alive)


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL each pid, ignoring those already gone."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def default_stop_signals() -> None:
    """``preexec_fn`` of a child a test signals: SIGINT, SIGHUP and SIGTERM back to default.

    A background job of a non-interactive shell (``pytest ... &`` in a script) starts with
    SIGINT ignored, and one started under ``nohup`` with SIGHUP ignored; a child inherits
    that, dnibench rightly leaves an inherited SIG_IGN alone, and a test sending it the
    signal would see nothing happen. The child must start as a user's terminal would start it.
    """
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
