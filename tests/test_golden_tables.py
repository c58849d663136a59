"""Every committed benchmark run re-renders to the same tables, byte for byte.

The golden files were written at 63461f1, before the run directory, the
modes and the studies were restructured (see ``golden_tables.py``). A change
that moves a reported figure must change the golden file in its own commit,
with the figures before and after in the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_tables import GOLDEN_DIR, GOLDEN_RUNS, render_tables


@pytest.mark.parametrize("run_name", GOLDEN_RUNS)
def test_committed_run_renders_its_golden_tables(run_name: str, tmp_path: Path) -> None:
    expected = (GOLDEN_DIR / f"{run_name}.md").read_text(encoding="utf-8")
    assert render_tables(run_name, tmp_path) == expected
