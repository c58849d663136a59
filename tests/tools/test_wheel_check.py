"""tools/wheel_check.sh works from inside a virtual environment (issue 21, point 8).

The wheel's venv was made with --system-site-packages, which from inside a venv
reaches the base interpreter's packages, not the venv's own: a torch installed
in the venv was not found. Here the script runs under an outer venv whose own
site-packages holds a marker module (standing for a torch installed there); the
wheel's venv must import it.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "wheel_check.sh"


def _purelib(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([python, "-c", code], capture_output=True, text=True,
                               check=True, timeout=60).stdout.strip())  # fmt: skip


def test_the_wheels_venv_sees_the_packages_of_the_venv_that_runs_it(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(outer)], check=True,
                   timeout=120)  # fmt: skip
    outer_site = _purelib(outer / "bin" / "python")
    # The outer venv reaches this interpreter's packages (pip, torch) as if installed in it.
    (outer_site / "base.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    (outer_site / "outer_venv_marker.py").write_text("WHERE = 'the outer venv'\n")
    env = {**os.environ, "PATH": f"{outer / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "VIRTUAL_ENV": str(outer)}  # fmt: skip
    env.pop("PYTHONPATH", None)
    work = tmp_path / "work"
    result = subprocess.run(["bash", str(SCRIPT), "--list-only", str(work)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dnibench imports from the venv" in result.stdout
    inner = work / "venv" / "bin" / "python"
    probe = "import outer_venv_marker, torch, dnibench; print(dnibench.__file__)"
    found = subprocess.run([inner, "-c", probe], capture_output=True, text=True, timeout=120,
                           check=False, env=env, cwd=tmp_path)  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().startswith(str(work / "venv"))
