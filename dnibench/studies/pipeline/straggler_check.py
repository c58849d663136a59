"""Does the straggler knob slow only its stage, by its factor? A verdict on a measured run.

The rule (:mod:`dnibench.runtimes.straggler`) makes the slowed stage sleep
``slow_factor - 1`` times each forward and backward it has just run. Whether
that shows in real timings is a benchmark question, not a unit test's: timings
on a shared machine are noisy. So a suite runs a benchmark twice, once plain
and once with one stage slowed (its *twin*: the same spec but for its name and
the straggler knobs), and the report checks, from the run directory alone, that
the slowed stage's compute per microbatch grew, relative to each other
stage's, by at least half the asked extra time (factor 3: at least 2x).
Runs with no such pair (a ``--slow-stage`` run slows every pipeline) show
nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from dnibench.report.verdict import Target
from dnibench.rundir.config import Spec
from dnibench.rundir.reader import read_config, read_results

KNOBS = ("name", "slow_stage", "slow_factor")
"""What a slowed benchmark's twin may differ in."""


def _plain(spec: Spec) -> dict[str, object]:
    return {key: value for key, value in spec.fields.items() if key not in KNOBS}


def twins(specs: dict[str, Spec]) -> list[tuple[str, str, int, float]]:
    """(slowed benchmark, its plain twin, the slowed stage, the factor) for every pair."""
    pairs = []
    for name, spec in specs.items():
        stage, factor = spec.get("slow_stage"), spec.number("slow_factor", 1.0)
        if not isinstance(stage, int) or not factor > 1.0:
            continue
        plain = _plain(spec)
        for other, candidate in specs.items():
            if candidate.get("slow_stage") is None and _plain(candidate) == plain:
                pairs.append((name, other, stage, factor))
                break
    return pairs


def _per_microbatch(frame: pd.DataFrame, bench: str) -> dict[int, float]:
    rows = frame[(frame.benchmark == bench) & (frame.metric == "busy_per_microbatch")]
    rows = rows[rows.stage >= 0]
    return {int(stage): float(group.value.median()) for stage, group in rows.groupby("stage")}


def straggler_targets(frame: pd.DataFrame, specs: dict[str, Spec]) -> list[Target]:
    """For each slowed benchmark with a plain twin: its slowed stage against each other stage.

    The figure is the slowed stage's growth (compute per microbatch, slowed run
    over plain run) divided by another stage's growth: a machine busier during
    one of the two launches grows every stage alike and cancels out, while a
    slow-down that reached the wrong stage, or every stage, brings it to 1.
    """
    out = []
    for slowed, plain, stage, factor in twins(specs):
        grown, base = _per_microbatch(frame, slowed), _per_microbatch(frame, plain)
        growth = {k: grown.get(k, math.nan) / base[k] if base[k] > 0 else math.nan for k in base}
        bar = 1.0 + (factor - 1.0) / 2
        for k in sorted(growth):
            if k == stage:
                continue
            relative = growth.get(stage, math.nan) / growth[k] if growth[k] > 0 else math.nan
            name = (f"{slowed}: slowed stage {stage}'s compute growth over stage {k}'s "
                    f"(slow_factor {factor:g})")  # fmt: skip
            detail = (f"compute per microbatch, slowed / plain run: stage {stage} "
                      f"x{growth.get(stage, math.nan):.2f}, stage {k} x{growth[k]:.2f} "
                      "(medians of repeats)")  # fmt: skip
            out.append(Target(name, relative, bar, ">=", detail=detail))
    return out


def straggler_section(run_dir: Path) -> str | None:
    """The Markdown table of the straggler targets, or None when the run holds no pair."""
    specs = read_config(run_dir).specs("pipeline")
    if not twins(specs):
        return None
    rows = [t.detail_row() for t in straggler_targets(read_results(run_dir), specs)]
    return "\n".join(["## Straggler", "", "| target | measured | goal | verdict | detail |",
                      "|---|---:|---:|---|---|", *rows, ""])  # fmt: skip


__all__ = ["straggler_section", "straggler_targets", "twins"]
