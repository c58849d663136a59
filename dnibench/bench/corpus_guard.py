"""Refuse to set runs on different text against each other as if they were one workload.

A recurrent run records, per benchmark, the corpus it read (``corpus.json``:
name, sizes and a SHA-256 of the text; see :mod:`dnibench.studies.recurrent.corpus`).
The default corpus is this interpreter's standard library, so two machines
with different Python versions read different text under the same benchmark
name. ``check`` and ``compare`` call :func:`refuse_mixed_corpora` first: a
benchmark present in two runs with two hashes stops them with a UserError
that names the benchmark, the runs and both corpora.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dnibench.errors import UserError

CORPUS_FILE = "corpus.json"


def corpora_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Benchmark name -> corpus provenance of one run ({} for runs without recurrent work)."""
    path = Path(run_dir) / CORPUS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path} is not readable JSON ({error}): re-run or delete it") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must map benchmark names to corpus entries")
    return {str(name): entry for name, entry in data.items() if isinstance(entry, dict)}


def _describe(entry: dict[str, Any]) -> str:
    python = f" (Python {entry['python']})" if entry.get("python") else ""
    return f"{entry.get('corpus', '?')}{python}, sha256 {str(entry.get('sha256', '?'))[:12]}"


def refuse_mixed_corpora(run_dirs: Sequence[Path]) -> None:
    """Raise a UserError if any benchmark read different text in two of ``run_dirs``."""
    first_seen: dict[str, tuple[Path, dict[str, Any]]] = {}
    for run_dir in run_dirs:
        for name, entry in corpora_of(run_dir).items():
            if name not in first_seen:
                first_seen[name] = (Path(run_dir), entry)
                continue
            other_dir, other = first_seen[name]
            if other.get("sha256") != entry.get("sha256"):
                raise UserError(
                    f"benchmark {name!r} read different text in {other_dir} "
                    f"({_describe(other)}) and in {run_dir} ({_describe(entry)}): they are not "
                    "the same workload. Compare runs made on the same corpus (the same Python "
                    "version for pystdlib, the same file for --text-path / --data-dir)"
                )


__all__ = ["CORPUS_FILE", "corpora_of", "refuse_mixed_corpora"]
