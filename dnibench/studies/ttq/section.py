"""The time-to-quality report section: per workload, each regime timed to one target.

Per workload (a group of ttq benchmarks training the same model on the same
data) the section shows:

- the target and how it was chosen (the suite's ``calibration_best``, the
  median best metric of 1f1b on the calibration seeds, times
  ``target_share``), with its two premises: the last-stage-only floor does
  not reach it, and 1f1b reaches it no sooner than 25% of the budget;
- per regime, over the report seeds: wall seconds to target as the median
  with its order-statistic interval and as MLPerf's aggregate, wall seconds
  with evaluation on the clock, samples and CPU seconds to target, energy
  (NVML on a GPU; unavailable on CPU), and the toy-size ratio (per-stage
  compute per microbatch over the measured per-message overhead, >= 10);
- the time-to-quality curve: median wall seconds to 0.90, 0.95, 0.98 and 1.00
  of the calibration best;
- the paired verdicts of each decoupled regime against the best exact
  schedule, and the decomposition with its residual
  (:mod:`~dnibench.studies.ttq.compare`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from dnibench.errors import UserError
from dnibench.modes import DNI, ONE_F_ONE_B, Family, get_mode
from dnibench.report.findings import VerdictRecord
from dnibench.report.section import Section
from dnibench.report.tables import MISSING, fmt
from dnibench.rundir.reader import Spec, raw_results, read_config, read_curves, read_status
from dnibench.stats import Verdict
from dnibench.studies.ttq.compare import Decomposition, best_exact, paired_verdict
from dnibench.studies.ttq.keys import CURVE_SHARES, TTQ
from dnibench.studies.ttq.premises import toy_ratio, toy_reason, verdict_record
from dnibench.studies.ttq.reach import (
    Reach,
    best_metric,
    clock_table,
    median_interval,
    mlperf_aggregate,
    reaches,
)

EARLIEST_SHARE = 0.25
"""1f1b must reach the target no sooner than this share of the budget."""
MATCH_FIELDS = (
    "mode", "model", "width", "depth", "stages", "balance", "microbatches", "batch_size",
    "threads", "staleness", "data", "update_per_microbatch",
)  # fmt: skip
"""What a pipeline-grid launch must share with a ttq benchmark to give its throughput."""
EXACT = (Family.OWN, Family.PEER)
DECOUPLED = (Family.DECOUPLED, Family.ASYNC)


@dataclass(frozen=True)
class TTQBench:
    """One ttq benchmark of the run, from its config entry."""

    name: str
    repeats: int
    fields: Spec

    @property
    def spec(self) -> Spec:
        inner = self.fields.get("spec")
        return Spec(inner if isinstance(inner, dict) else {})

    @property
    def mode(self) -> str:
        return self.spec.text("mode")

    @property
    def family(self) -> Family | None:
        try:
            return get_mode(self.mode).family
        except UserError:  # a mode this version does not know
            return None

    @property
    def workload(self) -> str:
        return self.fields.text("workload")

    @property
    def target(self) -> float:
        return self.fields.number("target_share") * self.fields.number("calibration_best")

    @property
    def budget(self) -> float:
        return float(self.spec.integer("steps") * self.spec.integer("batch_size"))

    def seed(self, repeat: int) -> int:
        return self.spec.integer("seed") + repeat


def _unrun(run_dir: Path, benches: list[TTQBench], curves: pd.DataFrame) -> dict[str, str]:
    """Benchmarks with no curve at all, and why (the status file's state and message)."""
    named = set(curves["benchmark"].astype(str)) if "benchmark" in curves else set()
    status = read_status(run_dir)
    why: dict[str, str] = {}
    for bench in benches:
        if bench.name in named:
            continue
        rows = status[status["benchmark"].astype(str) == bench.name] if len(status) else status
        message = ""
        if len(rows):
            state = str(rows["status"].iloc[-1]).replace("_", " ")
            text = rows["message"].iloc[-1]
            message = f"{state}: {text}" if isinstance(text, str) and text else state
        why[bench.name] = message or "no curve recorded"
    return why


def _per_seed(bench: TTQBench, curves: pd.DataFrame, target: float) -> dict[int, Reach]:
    return {bench.seed(r): got for r, got in reaches(curves, bench.name, target).items()}


def _cell(values: list[float], spec: str = ".1f") -> str:
    if not values:
        return MISSING
    interval = median_interval(values)
    if interval.n == 0:
        return MISSING
    reached = sum(math.isfinite(v) for v in values)
    if not reached:
        return f"not reached (0/{len(values)})"
    text = f"{_value(interval.estimate, spec)} [{_value(interval.low, spec)}, "
    text += f"{_value(interval.high, spec)}]"
    return text if reached == len(values) else f"{text}, {reached}/{len(values)} reached"


def _value(value: float, spec: str = ".1f") -> str:
    if math.isnan(value):
        return MISSING
    return "not reached" if math.isinf(value) else fmt(value, spec)


def _throughput(run_dir: Path, bench: TTQBench, results: pd.DataFrame) -> tuple[str, float]:
    """The matching pipeline-grid launch and its median throughput (samples/s)."""
    for entry in read_config(run_dir).of_kind("pipeline"):
        if all(entry.spec.get(f) == bench.spec.get(f) for f in MATCH_FIELDS):
            rows = results[
                (results["benchmark"].astype(str) == entry.name)
                & (results["metric"] == "throughput")
            ]
            if not rows.empty:
                return entry.name, float(rows["value"].median())
    return "", math.nan


def _median_of(results: pd.DataFrame, bench: str, metric: str) -> float:
    rows = results[(results["benchmark"] == bench) & (results["metric"] == metric)]
    return float(rows["value"].median()) if not rows.empty else math.nan


def _workload_lines(
    run_dir: Path, benches: list[TTQBench], curves: pd.DataFrame, results: pd.DataFrame
) -> tuple[list[str], list[VerdictRecord]]:
    first = benches[0]
    target = first.target
    spec = first.spec
    optim = spec.get("optim")
    optim_text = ""
    if isinstance(optim, dict):
        optim_text = f", {optim.get('name')} at lr {optim.get('lr')}"
    lines = [
        f"### {first.workload}",
        "",
        f"K = {spec.integer('stages')}, m = {spec.integer('microbatches')}, batch "
        f"{spec.integer('batch_size')}{optim_text}, {spec.integer('steps')} steps, "
        f"evaluation every {spec.integer('eval_every')} steps; DNI's staleness bound "
        f"{spec.integer('staleness')}. Target: {first.fields.number('target_share'):g} x "
        f"{first.fields.number('calibration_best'):.4f} (1f1b's median best held-out accuracy "
        f"on the calibration seeds) = {target:.4f}.",
        "",
    ]
    floor = first.fields.number("floor_best")
    times: dict[str, dict[int, float]] = {}
    samples: dict[str, dict[int, float]] = {}
    rows = [
        "| regime | benchmark | wall s to target, median [interval] | MLPerf aggregate (s) "
        "| wall s with eval | samples to target | CPU s to target | energy | compute / message |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for bench in benches:
        per_seed = _per_seed(bench, curves, target)
        wall = clock_table(per_seed, "wall_seconds")
        times[bench.name] = wall
        samples[bench.name] = clock_table(per_seed, "samples")
        energy = _median_of(results, bench.name, "energy_to_target")
        energy_text = f"{energy:.1f} J" if math.isfinite(energy) else "unavailable (no NVML)"
        ratio = _median_of(results, bench.name, "compute_to_message")
        flag = "" if toy_reason(ratio) is None else " (toy size!)"
        rows.append(
            f"| {bench.mode} | {bench.name} | {_cell(list(wall.values()))} | "
            f"{_value(mlperf_aggregate(list(wall.values())))} | "
            f"{_cell(list(clock_table(per_seed, 'wall_seconds_with_eval').values()))} | "
            f"{_cell(list(samples[bench.name].values()), '.0f')} | "
            f"{_cell(list(clock_table(per_seed, 'cpu_seconds').values()))} | {energy_text} | "
            f"{_value(ratio, '.0f')}{flag} |"
        )
    one_f_one_b = [b for b in benches if b.mode == ONE_F_ONE_B.name]
    premises = []
    unfit: list[str] = []
    if math.isfinite(floor):
        premises.append(
            f"- the last-stage-only floor (median best {floor:.4f} on the calibration seeds) "
            f"does not reach the target: {'yes' if floor < target else 'NO'}"
        )
        if floor >= target:
            unfit.append("the last-stage-only floor reaches the target")
    if one_f_one_b:
        bench = one_f_one_b[0]
        got = median_interval(list(samples[bench.name].values())).estimate
        share = got / bench.budget if bench.budget else math.nan
        fair = math.isfinite(share) and share >= EARLIEST_SHARE
        when = f"after {share:.0%} of the budget" if math.isfinite(share) else "never"
        premises.append(
            f"- 1f1b reaches the target {when} (median over seeds; at least "
            f"{EARLIEST_SHARE:.0%} of the budget): {'yes' if fair else 'NO'}"
        )
        if not fair:
            unfit.append(f"1f1b does not reach the target after {EARLIEST_SHARE:.0%} of the budget")
    ratio = toy_ratio([_median_of(results, b.name, "compute_to_message") for b in benches])
    toy = toy_reason(ratio)
    if math.isfinite(ratio):
        premises.append(
            f"- per-stage compute per microbatch is at least 10x the per-message overhead "
            f"(median over the regimes: {ratio:.1f}x): {'yes' if toy is None else 'NO'}"
        )
    if toy is not None:
        unfit.append(toy)
    lines += ["Premises:", "", *premises, "", *rows, ""]
    lines += _curve_lines(benches, curves)
    verdict_lines, records = _verdict_lines(
        first.workload, benches, times, "; ".join(unfit) or None, _unrun(run_dir, benches, curves)
    )
    lines += verdict_lines
    lines += _decomposition_lines(run_dir, benches, times, samples, results)
    return lines, records


def _curve_lines(benches: list[TTQBench], curves: pd.DataFrame) -> list[str]:
    best = benches[0].fields.number("calibration_best")
    head = " | ".join(f"{share:.2f} ({share * best:.4f})" for share in CURVE_SHARES)
    lines = [
        "Time-to-quality curve: median wall seconds to each share of the calibration best "
        "(k/n: seeds that reached it).",
        "",
        f"| regime | {head} |",
        "|---|" + "---:|" * len(CURVE_SHARES),
    ]
    for bench in benches:
        cells = []
        for share in CURVE_SHARES:
            per_seed = _per_seed(bench, curves, share * best)
            wall = list(clock_table(per_seed, "wall_seconds").values())
            cells.append(_cell(wall) if wall else MISSING)
        lines.append(f"| {bench.mode} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _verdict_lines(
    workload: str,
    benches: list[TTQBench],
    times: dict[str, dict[int, float]],
    unfit: str | None,
    unrun: dict[str, str],
) -> tuple[list[str], list[VerdictRecord]]:
    """The paired verdicts and their records.

    Each decoupled regime and asynchronous mode against the best exact
    schedule; each asynchronous mode also against dni. All "not testable"
    when the target or the workload is unfit (``unfit``); "not applicable"
    for a regime that did not run (``unrun``: refused, with the reason).
    """
    exact = {b.name: times[b.name] for b in benches if b.family in EXACT and b.name not in unrun}
    baseline = best_exact(exact)
    dni = next((b for b in benches if b.mode == DNI.name), None)
    lines = [
        f"Verdicts: each decoupled regime and asynchronous mode reaches the target sooner than "
        f"the best exact schedule ({baseline or 'none reaches it on every seed'}), and each "
        "asynchronous mode sooner than dni: per-seed ratio of wall seconds to target, median "
        "[order-statistic interval]; met when the interval lies below 1.",
        "",
        "| regime | against | per-seed ratios | ratio | verdict | premise |",
        "|---|---|---|---|---|---|",
    ]
    records: list[VerdictRecord] = []
    for bench in benches:
        if bench.family not in DECOUPLED:
            continue
        against: list[tuple[str | None, dict[int, float] | None]] = [
            (baseline, exact.get(baseline) if baseline else None)
        ]
        if bench.family is Family.ASYNC and dni is not None:
            dni_times = None if dni.name in unrun else times[dni.name]
            against.append((dni.name, dni_times))
        for name, base in against:
            got = paired_verdict(times[bench.name], base, name or "-")
            if unfit is not None:
                got = replace(got, verdict=Verdict.NOT_TESTABLE, premise=f"unfit: {unfit}")
            if bench.name in unrun:
                got = replace(got, verdict=Verdict.NOT_APPLICABLE, premise=unrun[bench.name])
            elif name in unrun:
                why = f"{name} did not run ({unrun[name]})"
                got = replace(got, verdict=Verdict.NOT_TESTABLE, premise=why)
            ratios = (
                ", ".join(_value(v, ".2f") for _, v in sorted(got.result.per_key.items()))
                if got.result
                else MISSING
            )
            interval = got.result.interval.text(".3f") if got.result else MISSING
            lines.append(
                f"| {bench.mode} | {name or MISSING} | {ratios} | {interval} | "
                f"{got.verdict.value} | {got.premise} |"
            )
            claim = (
                f"{workload}: {bench.mode} reaches the target sooner than "
                f"{name or 'the best exact schedule'} (per-seed ratio of wall seconds to target)"
            )
            records.append(verdict_record(claim, got))
    return [*lines, ""], records


def _decomposition_lines(
    run_dir: Path,
    benches: list[TTQBench],
    times: dict[str, dict[int, float]],
    samples: dict[str, dict[int, float]],
    results: pd.DataFrame,
) -> list[str]:
    lines = [
        "Decomposition: time to target = samples to target / throughput; throughput from the "
        "pipeline-grid launch of the same configuration (not the ttq run); medians over seeds.",
        "",
        "| regime | samples to target | throughput (samples/s) | from | predicted (s) "
        "| measured (s) | residual (s) | residual / measured |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for bench in benches:
        source, throughput = _throughput(run_dir, bench, results)
        parts = Decomposition(
            median_interval(list(samples[bench.name].values())).estimate,
            throughput,
            median_interval(list(times[bench.name].values())).estimate,
        )
        lines.append(
            f"| {bench.mode} | {_value(parts.samples, '.0f')} | {_value(throughput, '.0f')} | "
            f"{source or MISSING} | {_value(parts.predicted, '.2f')} | "
            f"{_value(parts.measured, '.2f')} | {_value(parts.residual, '+.2f')} | "
            f"{_value(parts.residual_share, '+.1%')} |"
        )
    return [*lines, ""]


def _section(run_dir: Path) -> tuple[str, list[VerdictRecord]] | None:
    run_dir = Path(run_dir)
    entries = read_config(run_dir).of_kind(TTQ)
    benches = [TTQBench(e.name, e.repeats, e.spec) for e in entries]
    benches = [b for b in benches if math.isfinite(b.target)]
    results = raw_results(run_dir)
    if not benches or results is None:
        return None
    curves = read_curves(run_dir)
    groups: dict[str, list[TTQBench]] = {}
    for bench in benches:
        groups.setdefault(bench.workload, []).append(bench)
    lines = [
        "## Time to quality on the pipeline",
        "",
        "Each stage snapshots its parameters after the update that consumes sample N (N on the "
        "evaluation grid); the snapshots are composed and evaluated after the run, off the "
        "clock. Time to target: the first evaluation at or past the target (no interpolation), "
        "read as training wall seconds (each stage's snapshot copies removed), wall seconds "
        "with every evaluation so far added as if on the clock (MLPerf), samples and CPU "
        "seconds of all ranks. A seed that never reaches the target counts as +inf. "
        "Intervals: order statistics over the report seeds; MLPerf aggregate: the mean after "
        "dropping the fastest and slowest seed, not reached with two or more such seeds.",
        "",
    ]
    records: list[VerdictRecord] = []
    for members in groups.values():
        got, found = _workload_lines(run_dir, members, curves, results)
        lines += got
        records += found
    return "\n".join(lines), records


def ttq_section_markdown(run_dir: Path) -> str | None:
    """The section's Markdown, or None when the run has no calibrated ttq benchmark."""
    got = _section(run_dir)
    return got[0] if got is not None else None


def ttq_section(run_dir: Path) -> Section | None:
    """The section, with its paired verdicts for the findings and the verdicts file."""
    got = _section(run_dir)
    return Section(got[0], verdicts=tuple(got[1])) if got is not None else None


def calibration_best(curves: pd.DataFrame, bench: str) -> float:
    """The median over seeds of a benchmark's best held-out accuracy (the calibration figure)."""
    values = list(best_metric(curves, bench).values())
    return median_interval(values).estimate if values else math.nan


__all__ = ["TTQBench", "calibration_best", "ttq_section", "ttq_section_markdown"]
