"""Rendering is light: no module of dnibench.report imports torch, and none imports a study.

A report of a committed run is rebuilt on any machine, torch or not; the
studies plug their parts in through :mod:`dnibench.report.hooks`. Checked in
a fresh interpreter, since this test session has long imported torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import importlib, pkgutil, sys
import dnibench.report
names = [m.name for m in pkgutil.walk_packages(dnibench.report.__path__, "dnibench.report.")]
for name in names:
    importlib.import_module(name)
print(len(names))
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("dnibench.studies")))
"""


def test_report_modules_import_neither_torch_nor_a_study() -> None:
    paths = [str(REPO), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    count, loaded = done.stdout.strip().splitlines()
    assert int(count) >= 10  # every rendering module was imported
    assert loaded == "[]"
