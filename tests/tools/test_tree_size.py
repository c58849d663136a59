"""The tracked tree stays small enough to send to a lent GPU machine (56 MiB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "tree_size.py"


def test_tracked_files_total_at_most_56_mib() -> None:
    command = [sys.executable, str(SCRIPT)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_tree_over_the_limit_fails_and_names_its_largest_file(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"\0" * (2 * 2**20))
    (tmp_path / "small.txt").write_text("x")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(tmp_path), "--limit-mib", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "big.bin" in done.stderr
    within = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(tmp_path), "--limit-mib", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert within.returncode == 0, within.stderr
