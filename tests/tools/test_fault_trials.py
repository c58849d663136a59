"""tools/fault_trials.py: a trial passes only when nothing is left and SIGTERM kept everything."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "fault_trials.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_trials", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_trials"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


def test_verdicts() -> None:
    trials = _load()
    kill = trials.Trial(0, "SIGKILL", "pipeline", 1.0, exit=-9)
    assert kill.ok
    assert not trials.Trial(0, "SIGKILL", "pipeline", 1.0, exit=-9, alive=1).ok
    assert not trials.Trial(0, "SIGKILL", "pipeline", 1.0, exit=-9, folders=1).ok
    term = trials.Trial(1, "SIGTERM", "jobs-2", 1.0, exit=143, results=True, report=True)
    assert term.ok
    assert not trials.Trial(1, "SIGTERM", "jobs-2", 1.0, exit=-15, results=True, report=True).ok
    assert not trials.Trial(1, "SIGTERM", "jobs-2", 1.0, exit=143, results=True, report=False).ok
    assert not trials.Trial(1, "SIGTERM", "jobs-2", 1.0, exit=143, results=False, report=True).ok
    assert not trials.Trial(1, "SIGTERM", "pipeline", 1.0, note="run ended before the signal").ok


def test_the_help_names_what_it_measures() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "--trials" in done.stdout
