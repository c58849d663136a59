"""The temporary folder of one local launch (``/tmp/dnibench-*``), gone on every exit path.

The ranks of a launch meet in a temporary folder (the spec, the FileStore,
the results, error notes). The parent removes it when the launch ends, by a
result, an error or a signal; but a parent killed with ``kill -9`` runs no
clean-up at all. So the folder is made and owned by a *janitor*: a tiny
process (this file run as a script, standard library only, its own session,
deaf to SIGINT, SIGHUP and SIGTERM) that reads a pipe from the parent.

- The parent tells it each rank's pid, and ``done`` once it has removed the
  folder itself;
- when the pipe closes without ``done`` (the parent died), the janitor waits
  until the ranks are gone (they die with the parent, see
  :mod:`dnibench.runtimes.lifeline`), removes the folder and exits.

The folder exists only while its janitor lives, so no exit path leaves one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "dnibench-"
WAIT_FOR_RANKS_S = 10.0
"""How long a janitor whose parent died waits for the ranks to go before removing the folder."""


class ScratchFolder:
    """A temporary folder for one launch; :meth:`close` (or leaving ``with``) removes it."""

    def __init__(self) -> None:
        command = [sys.executable, "-I", "-S", str(Path(__file__).resolve())]
        self._janitor = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self._janitor.stdout is not None
        line = self._janitor.stdout.readline().strip()
        if not line:
            self._janitor.wait()
            status = self._janitor.returncode
            raise OSError(f"could not create a temporary folder (its janitor exited {status})")
        self.path = Path(line)

    def watch(self, pid: int) -> None:
        """Tell the janitor about a rank: after the parent's death it waits for it to go."""
        self._say(f"pid {pid}")

    def close(self) -> None:
        """Remove the folder now and let the janitor go."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._say("done")
        if self._janitor.stdin is not None:
            with contextlib.suppress(OSError):
                self._janitor.stdin.close()
        try:
            self._janitor.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._janitor.kill()
            self._janitor.wait()
        if self._janitor.stdout is not None:
            self._janitor.stdout.close()

    def _say(self, line: str) -> None:
        if self._janitor.stdin is None:
            return
        try:
            self._janitor.stdin.write(line + "\n")
            self._janitor.stdin.flush()
        except OSError:  # the janitor is gone: nothing more it can do
            pass

    def __enter__(self) -> ScratchFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False


def _janitor() -> None:
    """The janitor's body: make the folder, print it, remove it when the pipe closes."""
    for name in ("SIGINT", "SIGHUP", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    folder = tempfile.mkdtemp(prefix=PREFIX)
    print(folder, flush=True)
    pids: list[int] = []
    done = False
    for line in sys.stdin:
        word, _, value = line.strip().partition(" ")
        if word == "pid" and value.isdigit():
            pids.append(int(value))
        elif word == "done":
            done = True
    if not done:  # the parent died: its ranks die with it; remove the folder once they are gone
        deadline = time.monotonic() + WAIT_FOR_RANKS_S
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    _janitor()
