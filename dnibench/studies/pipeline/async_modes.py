"""The asynchronous modes against DNI and the best exact schedule, with what they hold.

DNI is one way to remove the locks; PipeDream, PipeDream-2BW and PipeMare
train on stale weights instead, and DGL on local losses (docs/async.md). A
user weighing what decoupling buys sets them side by side on one model, so
this section gives, per model group (the plain grid, then each name prefix
such as ``gpt-``; :mod:`model_groups`) and per asynchronous mode and m:

- throughput, and its ratio against dni and against the fastest exact
  schedule at the same m in the same group, each with its interval over
  launches (:func:`launch_pairs.compare_launches`) and a verdict recorded
  in the findings and verdicts.csv ("faster" met only when the whole
  interval lies above 1);
- the stash each stage holds, counted from its version store (peak RSS of
  about 500 MiB per rank hides stashes of a few MiB), in MiB and against the
  stage's parameter bytes, which is what 1f1b holds there: one version;
- the weight versions each stage held at most, live one included;
- DGL's auxiliary heads' forward FLOPs per example, per stage.

The asynchronous modes are read from :mod:`dnibench.modes` (``Family.ASYNC``).
"""

from __future__ import annotations

import math
from pathlib import Path

from dnibench.modes import DNI, ONE_F_ONE_B, Family, mode_names
from dnibench.report.findings import VerdictRecord, record_of_interval
from dnibench.report.section import Section
from dnibench.report.verdict import Verdict
from dnibench.rundir.reader import RunData, load_run
from dnibench.studies.pipeline.launch_pairs import compare_launches
from dnibench.studies.pipeline.model_groups import best_exact, group_label, prefixes, rate

__all__ = ["ASYNC_MODES", "async_section", "stash_ratios"]

ASYNC_MODES = mode_names(Family.ASYNC)
MICROBATCHES = (1, 4, 8)
STUDY = "pipeline"
MIB = 2**20

_HEADER = [
    "| mode | m | samples/s | / dni [interval] | verdict: faster than dni | best exact "
    "| / best exact [interval] | verdict: faster than best exact | stash MiB per stage "
    "| stash / parameter bytes per stage | versions held per stage "
    "| aux head FLOP/example per stage |",
    "|---|---:|---:|---:|---|---|---:|---|---|---|---|---|",
]

_EXPLAIN = (
    "The asynchronous modes (PipeDream with weight stashing, PipeDream-2BW with two "
    "weight versions, PipeMare with and without its learning-rate rescheduling and "
    "discrepancy correction, synchronous DGL on local losses; docs/async.md) beside DNI "
    "and the exact schedules, one table per model group: each row is compared only with "
    "benchmarks of its own group (gpt-pipedream-m8 with gpt-dni-m8, never dni-m8). "
    "Columns: samples/s is the median throughput over launches. '/ dni' is its ratio to "
    "dni at the same m, '/ best exact' to the fastest exact-gradient schedule measured at "
    "the same m (dnibench's gpipe, 1f1b, zb or a PyTorch peer, spans on); each carries its "
    "estimate and interval over launches, paired launch by launch where the session "
    "interleaved the two benchmarks, else a 95% bootstrap of the ratio of medians. "
    "'Faster' is met only when the whole interval lies above 1, missed when it lies at or "
    "below 1, inconclusive when it straddles 1. Stash MiB per stage is the most bytes of "
    "stashed weight versions a stage held at once, counted from its version store "
    "(PipeMare: its correction's velocity); stash / parameter bytes sets it against the "
    "stage's parameter bytes, which is what 1f1b holds on that stage (one version): "
    "PipeDream should read K - k - 1 on stage k, 2BW 1, PipeMare 1, PipeMare-plain 0. "
    "Versions held per stage is the most weight versions a stage held at once, the live "
    "one included. Aux head FLOP/example is the forward FLOPs of DGL's auxiliary head on "
    "each stage (none on the last, which trains on the true loss). Stages are listed "
    "0 / 1 / ...; a dash is a figure the mode does not report."
)


def _fmt(value: float, spec: str = ".3f") -> str:
    return "—" if math.isnan(value) else format(value, spec)


def _verdict_cell(record: VerdictRecord) -> str:
    if record.word == Verdict.INCONCLUSIVE:
        return f"{Verdict.INCONCLUSIVE} (interval straddles {record.goal:g})"
    return record.verdict


def _per_stage(run: RunData, bench: str, metric: str) -> list[float]:
    """The most of ``metric`` over launches on each stage; [] when the mode does not report it."""
    values = [run.value(bench, metric, stage, how="max") for stage in run.stages(bench)]
    return [] if all(math.isnan(v) for v in values) else values


def _stage_cell(values: list[float], scale: float = 1.0, spec: str = ".0f") -> str:
    return " / ".join(_fmt(v / scale, spec) for v in values) if values else "—"


def stash_ratios(run: RunData, bench: str, prefix: str, m: int) -> list[float]:
    """Each stage's stash over its parameter bytes ([] when the mode reports no stash).

    The parameter bytes are 1f1b's on that stage where its twin in the group
    reports them, else the mode's own (the same model and split, so the
    same bytes).
    """
    stash = _per_stage(run, bench, "stash_bytes")
    if not stash:
        return []
    twin = _per_stage(run, f"{prefix}{ONE_F_ONE_B.name}-m{m}", "parameter_bytes")
    params = twin if len(twin) == len(stash) else _per_stage(run, bench, "parameter_bytes")
    if len(params) != len(stash):
        return [math.nan] * len(stash)
    return [s / p if p > 0 else math.nan for s, p in zip(stash, params, strict=True)]


def _status(run: RunData, bench: str) -> str:
    status = run.status
    if status.empty or "benchmark" not in status.columns:
        return ""
    rows = status[(status["benchmark"] == bench) & (status["status"] != "ok")]
    return "" if rows.empty else f"{rows['status'].iloc[0]}: {rows['message'].iloc[0]}"


def _against(
    run: RunData, bench: str, baseline: str | None, missing: str, what: str = ""
) -> tuple[list[str], VerdictRecord | None]:
    """Ratio cell and verdict cell of ``bench`` against ``baseline`` (and its record)."""
    if baseline is None or baseline not in run.benchmarks():
        return ["—", f"{Verdict.NOT_MEASURED}: {missing}"], None
    ratio = compare_launches(run.results, bench, baseline)
    claim = f"{bench} faster than {what}({baseline})" if what else f"{bench} faster than {baseline}"
    record = record_of_interval(STUDY, claim, ratio.interval, 1.0, ">", method=ratio.how)
    return [ratio.cell(), _verdict_cell(record)], record


def _row(run: RunData, prefix: str, mode: str, m: int) -> tuple[str, list[VerdictRecord]]:
    bench = f"{prefix}{mode}-m{m}"
    dni = f"{prefix}{DNI.name}-m{m}"
    dni_cells, dni_record = _against(run, bench, dni, f"no {dni} in this run")
    best = best_exact(run, m, prefix)
    best_cells, best_record = _against(
        run,
        bench,
        best,
        f"no exact schedule at m={m} in {group_label(prefix)}",
        "the best exact schedule ",
    )
    best_name = "—" if best is None else f"{best} ({rate(run.value(best, 'throughput'))})"
    cells = [
        rate(run.value(bench, "throughput")),
        *dni_cells,
        best_name,
        *best_cells,
        _stage_cell(_per_stage(run, bench, "stash_bytes"), MIB, ".2f"),
        _stage_cell(stash_ratios(run, bench, prefix, m), spec=".2f"),
        _stage_cell(_per_stage(run, bench, "weight_versions_held")),
        _stage_cell(_per_stage(run, bench, "aux_head_flops")),
    ]
    records = [r for r in (dni_record, best_record) if r is not None]
    return f"| {prefix}{mode} | {m} | " + " | ".join(cells) + " |", records


def _group_lines(run: RunData, prefix: str) -> tuple[list[str], list[VerdictRecord]]:
    names = set(run.benchmarks())
    lines: list[str] = []
    records: list[VerdictRecord] = []
    for mode in ASYNC_MODES:
        for m in MICROBATCHES:
            bench = f"{prefix}{mode}-m{m}"
            if bench in names:
                line, found = _row(run, prefix, mode, m)
                lines.append(line)
                records += found
            elif reason := _status(run, bench):
                lines.append(f"| {prefix}{mode} | {m} | {reason} |" + " |" * 10)
    return lines, records


def async_section(run_dir: Path) -> Section | None:
    """The asynchronous modes' section; None when the run holds none of them."""
    run = load_run(run_dir)
    out = ["## Asynchronous modes against DNI and the best exact schedule", "", _EXPLAIN, ""]
    records: list[VerdictRecord] = []
    found = False
    for prefix in prefixes(run):
        lines, group_records = _group_lines(run, prefix)
        if not lines:
            continue
        found = True
        records += group_records
        out += [f"### Model group: {group_label(prefix)}", "", *_HEADER, *lines, ""]
    return Section("\n".join(out), verdicts=tuple(records)) if found else None
