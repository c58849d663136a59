"""Appending rows to a run directory's CSV files, flushed as each benchmark ends.

Rows are appended one benchmark at a time so a crash or Ctrl-C loses only
the benchmark in progress. The result columns themselves are defined once,
in :data:`dnibench.bench.results_file.RESULT_COLUMNS`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

CURVE_FIELDS = [
    "benchmark", "repeat", "step", "samples", "seconds", "train_loss", "test_loss", "test_accuracy",
]  # fmt: skip
STATUS_FIELDS = ["benchmark", "status", "seconds", "message"]


def append_csv(path: Path, fields: Sequence[str], rows: Sequence[dict]) -> None:
    """Append ``rows`` to ``path`` (header first if new) and flush them to disk."""
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerows(rows)
        handle.flush()


__all__ = ["CURVE_FIELDS", "STATUS_FIELDS", "append_csv"]
