"""Benchmark suites: TOML files in ``suites/`` that name grids of benchmarks and ratios.

A suite is loaded and validated as a whole before anything runs (see
:mod:`dnibench.suites.loader`); the keys it may use are in
:mod:`dnibench.suites.schema`.
"""

from __future__ import annotations

from dnibench.suites.loader import (
    find_suite,
    list_suites,
    load_suite,
    package_suites_dir,
    suite_dirs,
    suite_origin,
    suite_paths,
    survey_suites,
)
from dnibench.suites.schema import KEYS, KINDS, Ratio, Suite, SuiteError, SuiteItem

__all__ = [
    "KEYS",
    "KINDS",
    "Ratio",
    "Suite",
    "SuiteError",
    "SuiteItem",
    "find_suite",
    "list_suites",
    "load_suite",
    "package_suites_dir",
    "suite_dirs",
    "suite_origin",
    "suite_paths",
    "survey_suites",
]
