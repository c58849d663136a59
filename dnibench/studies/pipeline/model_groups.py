"""Model groups of a pipeline run: the plain grid and each name prefix (``gpt-``).

The pipeline suite names a benchmark ``{prefix}{mode}-m{m}`` and its
single-process baselines ``{prefix}single-1t-m{m}`` and
``{prefix}single-all-m{m}``: the plain grid (the MLP) has no prefix, the
transformer section ``gpt-``. A ratio means something only inside one
group (the same model, batch and split), so every comparison here looks
its baseline up by the benchmark's own prefix: gpt-dni-m8 is set against
gpt-1f1b-m8 and gpt-single-all-m8, never against the MLP's 1f1b-m8.

The mode and m of a benchmark are read from its rows in results.csv (the
``mode`` and ``microbatches`` columns), so the prefix is what is left of the
name once ``{mode}-m{m}`` is taken off; no list of prefixes is kept.
"""

from __future__ import annotations

import math

from dnibench.modes import SINGLE, Family, mode_names
from dnibench.rundir.config import Spec
from dnibench.rundir.reader import RunData

__all__ = [
    "EXACT_MODES",
    "best_exact",
    "exact_at",
    "group_label",
    "group_of",
    "mode_and_m",
    "prefix_of",
    "prefixes",
    "rate",
]

#: Exact gradients: dnibench's own backprop schedules and PyTorch's peers.
EXACT_MODES = mode_names(Family.OWN, Family.PEER)
#: The single process's two baselines: one thread, and every core.
SINGLE_BASELINES = ("single-1t", "single-all")


def mode_and_m(run: RunData, bench: str) -> tuple[str, int] | None:
    """``bench``'s mode and microbatches from its rows in results.csv; None when it has none."""
    rows = run.results[run.results["benchmark"] == bench]
    if rows.empty:
        return None
    return str(rows["mode"].iloc[0]), int(rows["microbatches"].max())


def _cores(mode: str, m: int) -> list[str]:
    if mode == SINGLE.name:
        return [f"{base}-m{m}" for base in SINGLE_BASELINES]
    return [f"{mode}-m{m}"]


def prefix_of(bench: str, mode: str, m: int, *, exact: bool = False) -> str | None:
    """The prefix before ``{mode}-m{m}`` in ``bench`` ('' for the plain grid); None if absent.

    The core must start the name or follow a dash, so ``dni-m8`` is not
    found inside ``cdni-m8``. With ``exact`` the core must also end the name
    (``1f1b-m8-slow1`` then belongs to no group); without it a suffixed
    variant belongs to the group its prefix names.
    """
    for core in _cores(mode, m):
        at = bench.find(core)
        while at >= 0:
            starts = at == 0 or bench[at - 1] == "-"
            ends = at + len(core) == len(bench)
            if starts and (ends or not exact):
                return bench[:at]
            at = bench.find(core, at + 1)
    return None


def prefixes(run: RunData) -> list[str]:
    """The model groups of a run: '' (the plain grid) first when present, then sorted.

    A group exists where some benchmark is named exactly ``{prefix}{mode}-m{m}``.
    """
    frame = run.results[run.results["benchmark"].isin(run.benchmarks())]
    known = frame.groupby(["benchmark", "mode"], sort=False)["microbatches"].max()
    found: set[str] = set()
    for (bench, mode), m in known.items():
        prefix = prefix_of(str(bench), str(mode), int(m), exact=True)
        if prefix is not None:
            found.add(prefix)
    return sorted(found, key=lambda p: (p != "", p))


def group_of(bench: str, groups: list[str]) -> str:
    """The group of ``bench`` among ``groups``: the longest prefix it starts with, else ''.

    Variants named off the pattern (``dni-sg16-m8``, ``1f1b-m8-slow1``) stay
    in the group their prefix names, the plain grid when none.
    """
    return max((p for p in groups if p and bench.startswith(p)), key=len, default="")


def group_label(prefix: str) -> str:
    """How a report names a group: 'the plain grid' or its prefix."""
    return "the plain grid" if not prefix else f"{prefix}*"


def rate(value: float) -> str:
    """A throughput for a table cell: whole numbers from 100 up, 3 significant digits below.

    The transformer's few samples/s would all read 6 as whole numbers.
    """
    if math.isnan(value):
        return "—"
    return format(value, ".0f") if abs(value) >= 100 else format(value, ".3g")


def _throughput(run: RunData, bench: str) -> float:
    return run.value(bench, "throughput")


def exact_at(run: RunData, m: int, prefix: str = "") -> list[str]:
    """Exact-gradient benchmarks of the group ``prefix`` at ``m`` with spans on.

    dnibench's schedules and the PyTorch peers whose name is
    ``{prefix}{mode}-m{m}`` exactly and whose throughput was measured.
    """
    specs = run.config.specs()
    found = []
    for bench in run.pipeline_benchmarks():
        spec = specs.get(bench, Spec())
        mode = spec.text("mode")
        if spec.integer("microbatches", -1) != m or spec.get("spans") is False:
            continue
        if mode not in EXACT_MODES or bench != f"{prefix}{mode}-m{m}":
            continue
        if not math.isnan(_throughput(run, bench)):
            found.append(bench)
    return found


def best_exact(run: RunData, m: int, prefix: str = "") -> str | None:
    """The fastest exact-gradient benchmark of the group ``prefix`` at ``m`` (None: none)."""
    found = exact_at(run, m, prefix)
    return max(found, key=lambda b: _throughput(run, b)) if found else None
