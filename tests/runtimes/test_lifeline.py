"""Children die with their parent: armed before torch is imported, and an orphan exits at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dnibench.runtimes.lifeline import ORPHANED

ARM = "from dnibench.runtimes.lifeline import die_with_parent; print(die_with_parent({parent}))"


@pytest.mark.parametrize(
    "module", ["dnibench.runtimes.lifeline", "dnibench.runtimes.distributed.rank"]
)
def test_what_a_child_imports_first_loads_no_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_a_child_whose_parent_is_gone_exits_at_once() -> None:
    wrong = os.getpid() + 1_000_000  # no process has this pid: the spawning parent "died"
    code = ARM.format(parent=wrong)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (ORPHANED, "")


def test_a_child_of_a_live_parent_arms_and_goes_on() -> None:
    code = ARM.format(parent=os.getpid())
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sys.platform.startswith("linux"))
