"""The GPU check's own page: what ran in which priority, in how many seconds, and what was cut.

Why a page of its own: ``tools/gpu_check.sh`` fits four groups of work into
one device call of 330 s (issue 25), in priority order, each group a
``dnibench run`` into its own run directory:

1. the streams rows of ``gpu-quick`` at one repeat;
2. the transformer's tokens/s, MFU and HFU (``gpu-gpt``, once enabled);
3. the rnn LM's characters per second (``gpu-rnn``), alone and side by side;
4. the time-to-quality suite's GPU profile, only with time left.

A group's nominal seconds are reserved for it while the groups before it run,
and what a group leaves unused passes on. When time runs short, repeats are
cut before regimes. Each group's report covers its own benchmarks; this page
is the one place that says what was skipped or cut, so a reader of the
committed run never takes a missing row for a result. The shell script writes
one tab-separated line per group (:data:`GROUP_FIELDS`); this module reads
those lines and the groups' run directories and renders the page.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from dnibench.errors import UserError
from dnibench.rundir import reader
from dnibench.stats import REPORT_SEEDS

GROUP_FIELDS = (
    "priority",  # 1..4
    "what",  # in words
    "dtype",  # the precision its matrix products run at
    "budget_s",  # nominal seconds (0: only what is left)
    "given_s",  # the time-out it ran under (0: did not run)
    "used_s",  # seconds it took
    "status",  # the step's exit status, or "skipped"
    "runs",  # run directories it wrote, relative to the reports folder, ';'-separated
    "cuts",  # what was cut before it ran (repeats, a side-by-side pass), in words
)
SIDE_SUFFIX = "-side"  # the run directory of the side-by-side pass ends in this


@dataclass(frozen=True)
class Group:
    """One priority group as the shell script recorded it."""

    priority: int
    what: str
    dtype: str
    budget_s: int
    given_s: int
    used_s: int
    status: str
    runs: tuple[str, ...]
    cuts: str

    @property
    def ran(self) -> bool:
        return self.status != "skipped"


def read_groups(path: Path) -> list[Group]:
    """The groups of ``path`` (one tab-separated line each, no header), in priority order."""
    groups = []
    with path.open(newline="", encoding="utf-8") as stream:
        for row in csv.reader(stream, delimiter="\t"):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != len(GROUP_FIELDS):
                raise ValueError(
                    f"{path}: a group line needs {len(GROUP_FIELDS)} fields "
                    f"({', '.join(GROUP_FIELDS)}), got {len(row)}: {row}"
                )
            values = dict(zip(GROUP_FIELDS, row, strict=True))
            groups.append(
                Group(
                    priority=int(values["priority"]),
                    what=values["what"],
                    dtype=values["dtype"],
                    budget_s=int(values["budget_s"]),
                    given_s=int(values["given_s"]),
                    used_s=int(values["used_s"]),
                    status=values["status"],
                    runs=tuple(r for r in values["runs"].split(";") if r),
                    cuts=values["cuts"],
                )
            )
    return sorted(groups, key=lambda g: g.priority)


def _status_counts(run_dir: Path) -> dict[str, list[str]]:
    """Benchmark runs of ``run_dir`` by status (names repeat once per repeat)."""
    counts: dict[str, list[str]] = {}
    for row in reader.status_rows(run_dir):
        counts.setdefault(row.get("status", "?"), []).append(row.get("benchmark", "?"))
    return counts


def _ran_cell(reports: Path, group: Group) -> tuple[str, str]:
    """(benchmark runs by status, regimes cut by the clock) over the group's run directories."""
    if not group.ran:
        return "-", ""
    merged: dict[str, list[str]] = {}
    for run in group.runs:
        for status, names in _status_counts(reports / run).items():
            merged.setdefault(status, []).extend(names)
    if not merged:
        return "no run directory", ""
    ran = ", ".join(f"{len(names)} {status}" for status, names in sorted(merged.items()))
    interrupted = sorted(set(merged.get("interrupted", [])))
    cut = f"cut by the clock: {', '.join(interrupted)}" if interrupted else ""
    return ran, cut


def _dtype_cell(reports: Path, group: Group) -> str:
    """The dtypes the group's benchmarks recorded (their spec's ``dtype``), else the line's.

    The run's own record wins over the script's words, so a suite whose dtype
    changes (fp32 to bf16) is never stated wrong on this page.
    """
    found: set[str] = set()
    for run in group.runs:
        run_dir = reports / run
        if not reader.has_config(run_dir):
            continue
        try:
            config = reader.read_config(run_dir)
        except UserError:
            continue
        for entry in config.benchmarks:
            dtype = entry.spec.fields.get("dtype")
            if isinstance(dtype, str) and dtype:
                found.add(dtype)
    return ", ".join(sorted(found)) + " (as run)" if found else group.dtype


def _seconds(value: int, zero: str) -> str:
    return str(value) if value > 0 else zero


def _budget(group: Group) -> str:
    """The nominal budget; 0 means what is left (priority 4) or the group's own above."""
    return _seconds(group.budget_s, "rest" if group.priority == 4 else "the group's")


def groups_table(reports: Path, groups: list[Group], limit_s: int) -> list[str]:
    """The priorities table: budget, time given and used, status, runs, and every cut."""
    lines = [
        f"The device call keeps to {limit_s} s. Groups run in priority order; a group's "
        "budget is held back for it while earlier ones run, and seconds a group leaves "
        "unused pass on. Repeats are cut before regimes.",
        "",
        "| priority | what | dtype | budget s | given s | used s | status | runs | cut |",
        "|---:|---|---|---:|---:|---:|---|---|---|",
    ]
    for group in groups:
        ran, clock_cut = _ran_cell(reports, group)
        cuts = "; ".join(c for c in (group.cuts, clock_cut) if c) or "nothing"
        lines.append(
            f"| {group.priority} | {group.what} | {_dtype_cell(reports, group)} "
            f"| {_budget(group)} | {_seconds(group.given_s, '-')} "
            f"| {group.used_s if group.ran else '-'} | {group.status} | {ran} | {cuts} |"
        )
    return lines


def _throughputs(run_dir: Path) -> dict[str, tuple[str, float, float]]:
    """benchmark -> (regime, characters per second, wall_clock flag) of an rnn run directory."""
    if not (run_dir.is_dir() and reader.has_results(run_dir)):
        return {}
    try:
        frame = reader.read_results(run_dir)
    except UserError:  # damaged or cut off: the group's row already says how it ended
        return {}
    found: dict[str, tuple[str, float, float]] = {}
    for name, rows in frame.groupby("benchmark", sort=False):
        by_metric = rows.groupby("metric")["value"].median()
        if "throughput" not in by_metric:
            continue
        found[str(name)] = (
            str(rows["mode"].iloc[0]),
            float(by_metric["throughput"]),
            float(by_metric.get("wall_clock", math.nan)),
        )
    return found


def _rate(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None and math.isfinite(value) else "-"


def rnn_table(reports: Path, runs: tuple[str, ...]) -> list[str]:
    """Characters per second of the rnn runs, alone and side by side, with what it is not."""
    alone_runs = [r for r in runs if not r.endswith(SIDE_SUFFIX)]
    side_runs = [r for r in runs if r.endswith(SIDE_SUFFIX)]
    alone = _throughputs(reports / alone_runs[0]) if alone_runs else {}
    side = _throughputs(reports / side_runs[0]) if side_runs else {}
    if not alone and not side:
        return ["No rnn benchmark finished: no characters per second to show."]
    flags = {flag for _, _, flag in [*alone.values(), *side.values()]}
    clock = (
        "wall seconds, the GPU synchronised at both ends of every chunk"
        if flags == {1.0}
        else "the training thread's CPU seconds (not on a GPU: a rehearsal, no GPU numbers)"
    )
    seeds = f"{REPORT_SEEDS[0]}-{REPORT_SEEDS[-1]}"
    lines = [
        f"One seed: a throughput smoke test, **no verdict** (a verdict needs the report "
        f"seeds {seeds} and the rnn suite's budget). Characters per training second, "
        f"the seconds being {clock}; side by side, the runs share the one device "
        "(as many at once as --jobs in the table above).",
        "",
        "| benchmark | regime | alone chars/s | side by side chars/s | side by side / alone |",
        "|---|---|---:|---:|---:|",
    ]
    for name in dict.fromkeys([*alone, *side]):
        regime = (alone.get(name) or side[name])[0]
        one = alone[name][1] if name in alone else None
        shared = side[name][1] if name in side else None
        ratio = shared / one if one and shared is not None else None
        lines.append(
            f"| {name} | {regime} | {_rate(one)} | {_rate(shared)} "
            f"| {f'{ratio:.2f}' if ratio is not None else '-'} |"
        )
    return lines


def summary_markdown(reports: Path, groups: list[Group], limit_s: int, elapsed_s: int) -> str:
    """The whole page: the priorities table, then the rnn throughput when that group ran."""
    lines = [
        "## GPU check: priorities, budgets and cuts",
        "",
        *groups_table(reports, groups, limit_s),
        "",
        f"The whole check took {elapsed_s} s.",
    ]
    rnn_runs = tuple(run for g in groups if g.priority == 3 and g.ran for run in g.runs)
    if rnn_runs:
        lines += ["", "### rnn characters per second", "", *rnn_table(reports, rnn_runs)]
    return "\n".join(lines) + "\n"


__all__ = ["GROUP_FIELDS", "Group", "groups_table", "read_groups", "rnn_table", "summary_markdown"]
