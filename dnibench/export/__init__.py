"""Exports of a run directory into other tools' formats.

A run directory is dnibench's own record; an export rewrites it for a tool
that teams already use, so their histories and commands read dnibench runs
unchanged. ``write_pytest_benchmark_json(run_dir)`` writes pytest-benchmark's
storage JSON, read by ``pytest-benchmark compare``.
"""

from __future__ import annotations

from dnibench.export.pytest_benchmark import FILE_NAME, write_pytest_benchmark_json

__all__ = ["FILE_NAME", "write_pytest_benchmark_json"]
