"""Build hook: a wheel carries the repository's ``suites/*.toml`` as package data.

``suites/`` at the repository root is the one source of truth: users edit it
there and the layout documents it there. Copying it into
``dnibench/suites/shipped/`` while the wheel is built means no second copy is
committed, yet an installed dnibench, with no checkout around, still finds
``quick`` for ``dnibench run``. Everything else about the package is in
pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SUITES = ROOT / "suites"
SHIPPED = ("dnibench", "suites", "shipped")  # dnibench.suites.loader.SHIPPED_DIR


class BuildPyWithSuites(build_py):
    """``build_py`` that also copies ``suites/*.toml`` into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's suites/ in place
        files = sorted(SUITES.glob("*.toml"))
        if not files:
            raise SystemExit(
                f"setup.py: no suite files in {SUITES}; build from a checkout or an sdist "
                "that holds suites/*.toml (MANIFEST.in includes them)"
            )
        target = Path(self.build_lib, *SHIPPED)
        shutil.rmtree(target, ignore_errors=True)  # no stale suites from an earlier build
        target.mkdir(parents=True)
        for path in files:
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithSuites})
