"""Refuse to set runs on different text against each other as if they were one workload.

A recurrent run records, per benchmark, the corpus it read (``corpus.json``:
name, sizes and a SHA-256 of the text; see :mod:`dnibench.data.corpus`).
The default corpus is this interpreter's standard library, so two machines
with different Python versions read different text under the same benchmark
name. ``check`` and ``compare`` call :func:`refuse_mixed_corpora` first: a
benchmark present in two runs with two hashes stops them with a UserError
that names the benchmark, the runs and both corpora.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from dnibench.errors import UserError
from dnibench.rundir.reader import JsonValue, read_corpora


def corpora_of(run_dir: Path) -> dict[str, dict[str, JsonValue]]:
    """Benchmark name -> corpus provenance of one run ({} for runs without recurrent work)."""
    return read_corpora(Path(run_dir))


def _describe(entry: Mapping[str, JsonValue]) -> str:
    python = f" (Python {entry['python']})" if entry.get("python") else ""
    return f"{entry.get('corpus', '?')}{python}, sha256 {str(entry.get('sha256', '?'))[:12]}"


def refuse_mixed_corpora(run_dirs: Sequence[Path]) -> None:
    """Raise a UserError if any benchmark read different text in two of ``run_dirs``."""
    first_seen: dict[str, tuple[Path, dict[str, JsonValue]]] = {}
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


__all__ = ["corpora_of", "refuse_mixed_corpora"]
