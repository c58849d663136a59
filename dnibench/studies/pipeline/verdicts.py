"""Zero-bubble verdicts: DNI against zero-bubble and the best exact schedule; zb against torch's.

Each verdict states its premise and checks it on the same run:

- "zb beats 1f1b" presumes that zb's measured lock idle (mean over stages
  of the activation and gradient waits) is below 1f1b's at the same m; the
  whole point of the split backward is to fill those waits. Where it is
  not, the verdict is "not testable" and the report says so.
- DNI is compared with zb and with the best exact-gradient schedule
  measured at the same m (dnibench's or PyTorch's, spans on, as DNI was),
  so a DNI-against-zb verdict still stands where zb's premise fails.
- Own zb against PyTorch's ``ScheduleInterleavedZeroBubble`` with one
  stage per rank (``torch-zb``) presumes both ran on the same model and
  balance with at least 5 launches each; the ratio of median throughputs
  gets a 95% percentile-bootstrap interval (each side's launches resampled
  independently, 10 000 resamples, seeded), and the target (>= 0.95) is
  met when the interval's lower end clears it, missed when its upper end
  does not, and inconclusive otherwise.

Split-backward cost: own zb's and PyTorch's both come from
:func:`split_backward.split_backward_costs` (D + W of each zb benchmark
against its 1f1b twin, and of torch-zb against torch-1f1b).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnibench.errors import UserError
from dnibench.modes import SINGLE, unlocked_mode_names
from dnibench.report.findings import VerdictRecord, record_of_interval
from dnibench.report.section import Section
from dnibench.report.verdict import Verdict
from dnibench.rundir.layout import CONFIG
from dnibench.rundir.reader import RunData, load_run
from dnibench.studies.pipeline.hardware_limit import (
    SAME_MODEL,
    benchmark_specs,
    hardware_limit_efficiency,
)
from dnibench.studies.pipeline.launch_pairs import LaunchRatio, compare_launches
from dnibench.studies.pipeline.model_groups import best_exact, group_of, prefixes, rate

__all__ = ["lock_idle", "verdicts_section"]

MICROBATCHES = (1, 4, 8)
TORCH_ZB_TARGET = 0.95
MIN_LAUNCHES = 5
UNLOCKED = unlocked_mode_names()
#: The all-cores single process: the bar a pipeline on this machine has to clear.
SINGLE_ALL = "single-all"
STUDY = "pipeline"


def launches(run: RunData, bench: str) -> np.ndarray:
    """One throughput per launch (its median window), in launch order."""
    frame = run.rows("throughput")
    return frame[frame["benchmark"] == bench]["value"].dropna().to_numpy(dtype=float)


def lock_idle(run: RunData, bench: str) -> float:
    """Mean over stages of the two waits' fractions; NaN where waits were not measured."""
    values = []
    for stage in run.stages(bench):
        parts = [
            run.value(bench, metric, stage, how="mean")
            for metric in ("wait_activation_fraction", "wait_gradient_fraction", "comm_fraction")
        ]
        if any(math.isnan(p) for p in parts) or sum(parts) == 0:
            return math.nan  # no wait or comm span at all: not measured (spans off, old peer)
        values.append(parts[0] + parts[1])
    return float(np.mean(values)) if values else math.nan


def _fmt(value: float, spec: str = ".3f") -> str:
    return "—" if value is None or math.isnan(value) else format(value, spec)


def _throughput(run: RunData, bench: str) -> float:
    return run.value(bench, "throughput")


@dataclass
class _Premise:
    m: int
    zb_idle: float
    base_idle: float

    @property
    def testable(self) -> bool:
        return not (math.isnan(self.zb_idle) or math.isnan(self.base_idle))

    @property
    def holds(self) -> bool:
        return self.testable and self.zb_idle < self.base_idle


def _ratio_record(claim: str, ratio: LaunchRatio, goal: float, premise: str = "") -> VerdictRecord:
    return record_of_interval(
        STUDY, claim, ratio.interval, goal, ">", method=ratio.how, premise=premise
    )


def _verdict_cell(record: VerdictRecord) -> str:
    if record.word == Verdict.INCONCLUSIVE:
        return f"{Verdict.INCONCLUSIVE} (interval straddles {record.goal:g})"
    return record.verdict


def _zb_premise_table(run: RunData) -> tuple[list[str], list[_Premise], list[VerdictRecord]]:
    lines = [
        "| m | zb lock idle | 1f1b lock idle | premise: zb idle < 1f1b idle "
        "| zb / 1f1b throughput [interval] | interval | verdict: zb beats 1f1b |",
        "|---:|---:|---:|---|---:|---|---|",
    ]
    premises, records = [], []
    for m in MICROBATCHES:
        zb, base = f"zb-m{m}", f"1f1b-m{m}"
        if zb not in run.benchmarks() or base not in run.benchmarks():
            continue
        premise = _Premise(m, lock_idle(run, zb), lock_idle(run, base))
        premises.append(premise)
        ratio = compare_launches(run.results, zb, base)
        if not premise.testable:
            holds, why = "not measured", "lock idle not measured"
        elif not premise.holds:
            holds, why = "no", "zb's lock idle is not below 1f1b's"
        else:
            holds, why = "yes", ""
        record = _ratio_record(f"zb beats 1f1b at m={m}", ratio, 1.0, why)
        records.append(record)
        lines.append(
            f"| {m} | {_fmt(premise.zb_idle)} | {_fmt(premise.base_idle)} | {holds} | "
            f"{ratio.cell()} | {ratio.how} | {_verdict_cell(record)} |"
        )
    return lines, premises, records


def _same_model(run: RunData, a: str, b: str) -> str:
    """'' when ``b`` (a single-process baseline) trained the same model as ``a``, else why not."""
    specs = benchmark_specs(run)
    sa, sb = specs.get(a, {}), specs.get(b, {})
    if not sa or not sb:
        return f"{CONFIG} does not name both {a} and {b}"
    differ = [k for k in SAME_MODEL if sa.get(k) != sb.get(k)]
    return f"{b} differs in {', '.join(differ)}" if differ else ""


def _decoupled_table(run: RunData) -> tuple[list[str], list[VerdictRecord]]:
    """Each decoupled regime against the all-cores single process and the best exact schedule.

    Per model group (the plain grid, then each prefix such as ``gpt-``): a
    regime is set only against its own group's baselines.
    """
    lines = [
        "| regime | m | vs single-all: ratio [interval] | verdict: faster than single-all "
        "| best exact schedule | vs best exact: ratio [interval] "
        "| verdict: faster than best exact |",
        "|---|---:|---:|---|---|---:|---|",
    ]
    records: list[VerdictRecord] = []
    names = set(run.benchmarks())
    for prefix in prefixes(run):
        for mode in UNLOCKED:
            for m in MICROBATCHES:
                bench = f"{prefix}{mode}-m{m}"
                if bench not in names:
                    continue
                cells, found = _decoupled_cells(run, bench, prefix, m)
                records += found
                lines.append(f"| {prefix}{mode} | {m} | " + " | ".join(cells) + " |")
    return lines, records


def _decoupled_cells(
    run: RunData, bench: str, prefix: str, m: int
) -> tuple[list[str], list[VerdictRecord]]:
    names = set(run.benchmarks())
    single = f"{prefix}{SINGLE_ALL}-m{m}"
    cells, records = [], []
    if single in names:
        why = _same_model(run, bench, single)
        ratio = compare_launches(run.results, bench, single)
        record = _ratio_record(f"{bench} faster than {single}", ratio, 1.0, why)
        records.append(record)
        cells += [ratio.cell(), _verdict_cell(record)]
    else:
        cells += ["—", f"{Verdict.NOT_MEASURED}: no {single} in this run"]
    best = best_exact(run, m, prefix)
    if best is not None:
        ratio = compare_launches(run.results, bench, best)
        record = _ratio_record(f"{bench} faster than the best exact schedule ({best})",
                               ratio, 1.0)  # fmt: skip
        records.append(record)
        cells += [f"{best} ({rate(_throughput(run, best))})", ratio.cell(),
                  _verdict_cell(record)]  # fmt: skip
    else:
        where = f"m={m}" if not prefix else f"m={m} among {prefix}*"
        cells += ["—", "—", f"{Verdict.NOT_MEASURED}: no exact schedule at {where}"]
    return cells, records


def _same_split(run: RunData, a: str, b: str) -> str:
    """'' when ``a`` and ``b`` ran the same model and balance, else what differs."""
    specs = benchmark_specs(run)
    sa, sb = specs.get(a, {}), specs.get(b, {})
    if not sa or not sb:
        return f"{CONFIG} does not name both benchmarks"
    keys = ("model", "width", "depth", "stages", "balance", "batch_size", "microbatches")
    differ = [k for k in keys if sa.get(k) != sb.get(k)]
    return f"they differ in {', '.join(differ)}" if differ else ""


def _status_of(run: RunData, bench: str) -> str:
    status = run.status
    if status.empty or "benchmark" not in status.columns:
        return ""
    rows = status[(status["benchmark"] == bench) & (status["status"] != "ok")]
    return "" if rows.empty else f"{rows['status'].iloc[0]}: {rows['message'].iloc[0]}"


def _torch_zb_table(run: RunData) -> tuple[list[str], list[VerdictRecord]]:
    lines = [
        "| m | zb (launches) | torch-zb (launches) | zb / torch-zb [interval] | interval "
        "| target | verdict |",
        "|---:|---:|---:|---:|---|---|---|",
    ]
    records = []
    for m in (4, 8):
        own, peer = f"zb-m{m}", f"torch-zb-m{m}"
        a, b = launches(run, own), launches(run, peer)
        reason = ""
        if b.size == 0:
            reason = _status_of(run, peer) or f"{peer} was not measured"
        elif a.size == 0:
            reason = _status_of(run, own) or f"{own} was not measured"
        elif min(a.size, b.size) < MIN_LAUNCHES:
            reason = f"fewer than {MIN_LAUNCHES} launches ({a.size} and {b.size})"
        else:
            reason = _same_split(run, own, peer)
        cells = f"{_fmt(np.median(a) if a.size else math.nan, '.0f')} ({a.size}) | "
        cells += f"{_fmt(np.median(b) if b.size else math.nan, '.0f')} ({b.size})"
        if reason:
            untestable = f"{Verdict.NOT_TESTABLE}: {reason}"
            lines.append(f"| {m} | {cells} | — | — | >= {TORCH_ZB_TARGET} | {untestable} |")
            records.append(VerdictRecord(STUDY, f"zb / torch-zb >= {TORCH_ZB_TARGET} at m={m}",
                                         untestable, premise=reason))  # fmt: skip
            continue
        ratio = compare_launches(run.results, own, peer)
        record = _ratio_record(f"zb / torch-zb >= {TORCH_ZB_TARGET} at m={m}", ratio,
                               TORCH_ZB_TARGET)  # fmt: skip
        records.append(record)
        lines.append(
            f"| {m} | {cells} | {ratio.cell()} | {ratio.how} | >= {TORCH_ZB_TARGET} "
            f"| {_verdict_cell(record)} |"
        )
    return lines, records


def _split_lines(run: RunData) -> list[str]:
    lines = [
        "| pair | stage | input + weight halves (ms) | fused backward (ms) | split / fused |",
        "|---|---:|---:|---:|---:|",
    ]
    from dnibench.studies.pipeline.split_backward import split_backward_costs

    found = False
    for split, fused in (("torch-zb-m8", "torch-1f1b-m8"),):
        if split not in run.benchmarks() or fused not in run.benchmarks():
            continue
        try:
            costs = split_backward_costs(run.run_dir, split, fused)
        except UserError:  # no traces, or not the spans of a split and a fused backward
            continue
        for cost in costs:
            found = True
            halves, whole = cost.split_s * 1e3, cost.fused_s * 1e3
            lines.append(
                f"| {split} vs {fused} | {cost.stage} | {halves:.3f} | {whole:.3f} | "
                f"{_fmt(cost.ratio)} |"
            )
    return lines if found else []


def _hardware_lines(run: RunData) -> list[str]:
    lines = [
        "| m | single-1t (samples/s) | single-all | best pipeline | its HW-limit efficiency "
        "| single-all HW-limit efficiency |",
        "|---:|---:|---:|---|---:|---:|",
    ]
    specs = benchmark_specs(run)
    groups = prefixes(run)
    for prefix in groups:
        for m in MICROBATCHES:
            one, every = f"{prefix}single-1t-m{m}", f"{prefix}single-all-m{m}"
            if one not in run.benchmarks():
                continue
            pipes = [
                b
                for b in run.pipeline_benchmarks()
                if int(specs.get(b, {}).get("microbatches", -1)) == m
                and specs.get(b, {}).get("mode") != SINGLE.name
                and specs.get(b, {}).get("spans") is not False
                and group_of(b, groups) == prefix
            ]
            best = max(pipes, key=lambda b: _throughput(run, b), default=None)
            singles = f"{rate(_throughput(run, one))} | {rate(_throughput(run, every))}"
            label = str(m) if not prefix else f"{m} ({prefix}*)"
            lines.append(
                f"| {label} | {singles} "
                f"| {best or '—'} ({rate(_throughput(run, best)) if best else '—'}) | "
                f"{_fmt(hardware_limit_efficiency(run, best)) if best else '—'} | "
                f"{_fmt(hardware_limit_efficiency(run, every))} |"
            )
    return lines


def verdicts_section(run_dir: Path) -> Section | None:
    """Decoupled regimes against the strongest baselines, and the zero-bubble verdicts.

    None when the run holds neither a decoupled regime nor zb at m in 1, 4, 8.
    """
    run = load_run(run_dir)
    names = set(run.benchmarks())
    has_zb = any(f"zb-m{m}" in names for m in MICROBATCHES)
    has_decoupled = any(
        f"{prefix}{mode}-m{m}" in names
        for prefix in prefixes(run)
        for mode in UNLOCKED
        for m in MICROBATCHES
    )
    if not (has_zb or has_decoupled):
        return None
    records: list[VerdictRecord] = []
    decoupled_lines, decoupled = _decoupled_table(run)
    records += decoupled
    out = [
        "## Decoupled regimes against the strongest baselines",
        "",
        "Each decoupled regime (DNI, cDNI, complete unlock) against the single process using "
        "every core (single-all, the same model and batch) and against the fastest "
        "exact-gradient schedule measured at the same m (dnibench's gpipe, 1f1b, zb or a "
        "PyTorch peer, spans on, as the regime ran). Cells: throughput ratio, its estimate "
        "and interval over launches: launch by launch (median of the per-launch ratios, "
        "order-statistic interval; with 3 launches [min, max] covers 75%) where the session "
        "interleaved the two benchmarks' launches, else a 95% bootstrap of the ratio of "
        "medians. 'Faster' is met only when the whole interval lies above 1, missed when it "
        "lies at or below 1, inconclusive when it straddles 1. Choosing the fastest exact "
        "schedule on the same launches favours the baseline, so a 'met' here is conservative."
        + (
            " A prefixed regime (gpt-dni) is set only against its own model group's "
            "single-all and exact schedules (gpt-single-all-m{m}, gpt-*)."
            if any(prefixes(run))
            else ""
        ),
        "",
        *decoupled_lines,
        "",
    ]
    if has_zb:
        premise_lines, premises, zb_records = _zb_premise_table(run)
        records += zb_records
        failed = [p.m for p in premises if not p.holds]
        out += [
            "## Zero-bubble against 1F1B and PyTorch's",
            "",
            "Lock idle is the mean over stages of the activation and gradient waits' fractions "
            "of the window (mean over launches). The premise of 'zb beats 1f1b' is that zb's "
            "lock idle is below 1f1b's: filling those waits is all a split backward can do. "
            "The throughput ratio carries its interval over launches as above; met when it "
            "lies wholly above 1.",
            "",
            *premise_lines,
            "",
        ]
        if failed:
            ms = ", ".join(str(m) for m in failed)
            out += [
                f"At m = {ms} zb's measured lock idle is not below 1f1b's, so 'zb beats 1f1b' "
                "is not testable there.",
                "",
            ]
        torch_lines, torch_records = _torch_zb_table(run)
        records += torch_records
        out += [
            "### Own zb against PyTorch's ZB1P with one stage per rank",
            "",
            "torch-zb is ScheduleInterleavedZeroBubble with one stage per rank, on the same "
            "model, balance and batches as zb. Throughput ratio with its interval over "
            f"launches (as above); met when the whole interval is above {TORCH_ZB_TARGET}, "
            "missed when it is at or below, inconclusive otherwise.",
            "",
            *torch_lines,
            "",
        ]
    from dnibench.studies.pipeline.split_backward import split_backward_section

    own_split = split_backward_section(run_dir)
    torch_split = _split_lines(run)
    if own_split or torch_split:
        out += ["### Split-backward cost", ""]
        if own_split:
            out += [own_split, ""]
        if torch_split:
            out += [
                "PyTorch's ZB1P against its 1F1B, same measure (input + weight halves of "
                "torch-zb against torch-1f1b's fused backward):",
                "",
                *torch_split,
                "",
            ]
    hardware = _hardware_lines(run)
    if len(hardware) > 2:
        out += [
            "### Against the hardware limit",
            "",
            "HW-limit efficiency: throughput / (cores used x single-1t-m{m} throughput), "
            "cores used = processes x threads; the all-cores single process is the bar a "
            "2-process pipeline on this machine has to clear."
            + (
                " A prefixed row (gpt-*) reads its own group's single processes "
                "(gpt-single-1t-m{m}) and best pipeline."
                if any(prefixes(run))
                else ""
            ),
            "",
            *hardware,
            "",
        ]
    return Section("\n".join(out), verdicts=tuple(records))
