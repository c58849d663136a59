"""The K map section: predicted time to target over K and m, checked at K = 2.

Per workload with kmap benchmarks (:mod:`dnibench.studies.kmap.study`):

- samples to target per mode at the measured K (median over the seeds, from
  the one-process replay of the pipeline), beside the ttq run's own K = 2
  samples (the dist pipeline: its deltas may arrive before the bound, the
  replay's all arrive at it); a fixed-order mode (exact schedule, asynchronous
  mode) need not be replayed at the ttq run's K, where the replay equals the
  ttq run bit for bit: its ttq samples fill that cell, marked;
- the check: at the ttq run's K and m, predicted time to target (replayed
  samples / simulated throughput) against the measured median wall seconds of
  the ttq benchmarks, with the error; throughput from the simulator
  calibrated on the run's ``tput-<workload>-*`` launches only
  (:func:`~dnibench.simulate.scaling.model_costs_from_run`), weak scaling;
- the map (:mod:`~dnibench.simulate.ttq_predict`): every decoupled or
  asynchronous mode with kmap samples, its predicted time over the best exact
  schedule's (gpipe, 1f1b, zb: the fastest simulated, all three taking 1f1b's
  samples, as exact schedules train alike), at the target and at 0.90 of the
  calibration best; K beyond the measured ones extrapolated and marked;
- a heat map (``plots/``) and verdict records for its claims.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.errors import UserError
from dnibench.modes import GPIPE, ONE_F_ONE_B, ZB, Family, get_mode
from dnibench.report.findings import VerdictRecord
from dnibench.report.section import Section
from dnibench.report.tables import MISSING, fmt
from dnibench.rundir import layout
from dnibench.rundir.reader import raw_results, read_config, read_curves
from dnibench.simulate.ttq_predict import (
    MapCell,
    Throughput,
    beat_map,
    predict_times,
    prediction_error,
)
from dnibench.stats import Verdict
from dnibench.studies.kmap import KMAP
from dnibench.studies.ttq.keys import TTQ
from dnibench.studies.ttq.reach import clock_table, median_interval, reaches
from dnibench.studies.ttq.section import TTQBench

STAGES = (2, 3, 4, 8, 16, 32, 64)
MICROBATCHES = (1, 4, 8, 16, 32, 64)
EXACT_SCHEDULES = (GPIPE.name, ONE_F_ONE_B.name, ZB.name)
"""The exact schedules the simulator models; each trains like 1f1b (same samples to target)."""
LOW_SHARE = 0.90
"""A second, lower quality at which the map is drawn (a share of the calibration best)."""
ERROR_GOAL = 0.25
"""The K = 2 check is met when |predicted / measured - 1| is at most this."""
RULE = "hold"
STUDY = "kmap"


def _median(values: list[float]) -> float:
    return median_interval(values).estimate if values else math.nan


def _samples(benches: list[TTQBench], curves: pd.DataFrame, target: float) -> dict[str, float]:
    """Bench name -> median samples to ``target`` over its seeds (+inf: median seed never)."""
    return {
        b.name: _median(list(clock_table(reaches(curves, b.name, target), "samples").values()))
        for b in benches
    }


def _by_mode(
    benches: list[TTQBench],
    values: dict[str, float],
    fixed: dict[str, dict[int, float]] | None = None,
) -> dict[str, dict[int, float]]:
    """Mode -> K -> samples; ``fixed`` fills the (mode, K) no kmap benchmark replayed."""
    table: dict[str, dict[int, float]] = {}
    for bench in benches:
        table.setdefault(bench.mode, {})[bench.spec.integer("stages")] = values[bench.name]
    for mode, by_k in (fixed or {}).items():
        if mode in table:  # a fully unreplayed mode is the caller's to add
            for k, value in by_k.items():
                table[mode].setdefault(k, value)
    for exact in EXACT_SCHEDULES:  # every exact schedule trains as 1f1b does
        if ONE_F_ONE_B.name in table:
            table.setdefault(exact, dict(table[ONE_F_ONE_B.name]))
    return table


FIXED_ORDER = (Family.OWN, Family.ASYNC)
"""Families whose dist order is the listed one (no run-time choice), so the replay of the ttq
configuration equals the ttq run bit for bit (tests/runtimes/test_spec_replay.py): the kmap
need not replay them at the ttq's K, whose samples the ttq run measured already."""


def _fixed_order_from_ttq(
    run_dir: Path, workload: str, curves: pd.DataFrame, quality: float
) -> dict[str, dict[int, float]]:
    """Samples to ``quality`` of the ttq run's own launches of fixed-order modes, at its K."""
    found: dict[str, dict[int, float]] = {}
    for entry in read_config(run_dir).of_kind(TTQ):
        bench = TTQBench(entry.name, entry.repeats, entry.spec)
        if bench.workload != workload or bench.family not in FIXED_ORDER:
            continue
        per_seed = clock_table(reaches(curves, bench.name, quality), "samples")
        found.setdefault(bench.mode, {})[bench.spec.integer("stages")] = _median(
            list(per_seed.values())
        )
    return found


def _asynchronous_from_ttq(
    fixed: dict[str, dict[int, float]], known: set[str]
) -> dict[str, dict[int, float]]:
    """Asynchronous modes the ttq run timed but no kmap benchmark replayed: their dist samples
    at the ttq run's K (every other K then extrapolated from it), picked from ``fixed``."""
    return {
        mode: by_k
        for mode, by_k in fixed.items()
        if mode not in known and get_mode(mode).family is Family.ASYNC
    }


def _throughput_fn(run_dir: Path, workload: str, staleness: int) -> tuple[Throughput, str]:
    from dnibench.simulate.scaling import SweepSettings, model_costs_from_run, simulate_point

    model = model_costs_from_run(run_dir, only=f"tput-{workload}-")
    settings = SweepSettings(staleness=staleness)
    cache: dict[tuple[str, int, int], float] = {}

    def throughput(mode: str, k: int, m: int) -> float:
        if (mode, k, m) not in cache:
            try:
                point = simulate_point(model, mode, k, m, settings)
                cache[(mode, k, m)] = point.prediction.throughput
            except (UserError, ValueError, RuntimeError):
                cache[(mode, k, m)] = math.nan
        return cache[(mode, k, m)]

    return throughput, model.source


def _v(value: float, spec: str) -> str:
    if math.isnan(value):
        return MISSING
    return "never" if math.isinf(value) else fmt(value, spec)


def _check_lines(
    run_dir: Path,
    workload: str,
    samples: dict[str, dict[int, float]],
    throughput: Throughput,
    curves: pd.DataFrame,
    target: float,
) -> tuple[list[str], list[VerdictRecord]]:
    ttq = [
        b
        for b in (TTQBench(e.name, e.repeats, e.spec) for e in read_config(run_dir).of_kind(TTQ))
        if b.workload == workload
    ]
    lines = [
        "Check at the ttq run's K and m: predicted time to target (replayed samples / simulated "
        "throughput) against the measured median wall seconds of the ttq benchmark.",
        "",
        "| regime | K | m | samples, replay | samples, dist ttq | simulated samples/s "
        "| predicted (s) | measured (s) | error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    records = []
    for bench in ttq:
        k, m = bench.spec.integer("stages"), bench.spec.integer("microbatches")
        replay = samples.get(bench.mode, {}).get(k, math.nan)
        per_seed = reaches(curves, bench.name, target)
        dist = _median(list(clock_table(per_seed, "samples").values()))
        measured = _median(list(clock_table(per_seed, "wall_seconds").values()))
        rate = throughput(bench.mode, k, m) if bench.mode in samples else math.nan
        predicted = replay / rate if rate > 0 and not math.isnan(replay) else math.nan
        error = prediction_error(predicted, measured)
        lines.append(
            f"| {bench.mode} | {k} | {m} | {_v(replay, '.0f')} | {_v(dist, '.0f')} | "
            f"{_v(rate, '.0f')} | {_v(predicted, '.2f')} | {_v(measured, '.2f')} | "
            f"{_v(error, '+.1%')} |"
        )
        if math.isnan(replay):
            continue
        if math.isfinite(error):
            word = Verdict.MET if abs(error) <= ERROR_GOAL else Verdict.MISSED
            verdict, premise = str(word), ""
        else:
            # Both "never" agree on samples but leave no time to compare: the check is of times.
            both_never = math.isinf(predicted) and math.isinf(measured)
            verdict = str(Verdict.NOT_TESTABLE)
            premise = (
                "neither the prediction nor the run reaches the target: no time to compare"
                if both_never
                else "the target is reached by one side only"
            )
        records.append(
            VerdictRecord(
                STUDY,
                f"{workload} {bench.mode}: predicted time to target at K={k}, m={m} within "
                f"{ERROR_GOAL:.0%} of measured",
                verdict,
                estimate=error,
                method="point",
                n=1,
                goal=ERROR_GOAL,
                better="<",
                premise=premise,
            )
        )
    return [*lines, ""], records


def _map_table(cells: list[MapCell], measured_ks: set[int]) -> list[str]:
    head = " | ".join(f"K={k}" + ("" if k in measured_ks else "*") for k in STAGES)
    lines = [f"| mode | m | {head} |", "|---|---:|" + "---:|" * len(STAGES)]
    by = {(c.mode, c.stages, c.microbatches): c for c in cells}
    for mode in dict.fromkeys(c.mode for c in cells):
        for m in MICROBATCHES:
            row = []
            for k in STAGES:
                cell = by.get((mode, k, m))
                text = _v(cell.ratio, ".2f") if cell else MISSING
                row.append(f"**{text}**" if cell and cell.beats else text)
            lines.append(f"| {mode} | {m} | " + " | ".join(row) + " |")
    return lines


def _plot(
    maps: dict[str, list[MapCell]], out_dir: Path, workload: str, largest: int
) -> Path | None:
    """One heat map a (quality, mode): log2 of predicted time over the best exact schedule's."""
    from dnibench.report.style import figure, save, styled

    labels = list(maps)
    modes = list(dict.fromkeys(c.mode for cells in maps.values() for c in cells))
    if not labels or not modes:
        return None
    with styled():
        fig = figure(3.0 * len(modes) + 1.0, 2.8 * len(labels))
        axes = fig.subplots(len(labels), len(modes), squeeze=False)
        image = None
        for row, label in enumerate(labels):
            for column, mode in enumerate(modes):
                ax = axes[row][column]
                grid = np.full((len(MICROBATCHES), len(STAGES)), np.nan)
                for cell in maps[label]:
                    if cell.mode != mode or math.isnan(cell.ratio):
                        continue
                    ratio = cell.ratio
                    value = 4.0 if math.isinf(ratio) else -4.0 if ratio == 0 else math.log2(ratio)
                    if cell.microbatches in MICROBATCHES and cell.stages in STAGES:
                        at = (MICROBATCHES.index(cell.microbatches), STAGES.index(cell.stages))
                        grid[at] = max(-4.0, min(4.0, value))
                image = ax.imshow(
                    grid, cmap="RdBu_r", vmin=-4, vmax=4, origin="lower", aspect="auto"
                )
                ax.grid(False)
                ax.set_xticks(range(len(STAGES)), [str(k) for k in STAGES])
                ax.set_yticks(range(len(MICROBATCHES)), [str(m) for m in MICROBATCHES])
                if largest in STAGES:
                    ax.axvline(STAGES.index(largest) + 0.5, color="black", linestyle=":")
                ax.set_title(f"{mode}, to {label}", fontsize="small")
                if column == 0:
                    ax.set_ylabel("m")
        assert image is not None
        fig.supxlabel(f"K (right of the dotted line: extrapolated from K = {largest})")
        fig.colorbar(
            image, ax=axes.ravel().tolist(), label="log2 time / best exact (4: never; -4: only it)"
        )
        return save(fig, out_dir / f"kmap_{workload}.png")


def _workload(
    run_dir: Path, workload: str, benches: list[TTQBench], curves: pd.DataFrame
) -> tuple[list[str], dict[str, Path], list[VerdictRecord]]:
    first = benches[0]
    target = first.target
    best = first.fields.number("calibration_best")
    staleness = first.spec.integer("staleness")
    measured_ks = {b.spec.integer("stages") for b in benches}
    fixed = _fixed_order_from_ttq(run_dir, workload, curves, target)
    samples = _by_mode(benches, _samples(benches, curves, target), fixed)
    replayed = {(b.mode, b.spec.integer("stages")) for b in benches}
    filled = {(mode, k) for mode, by_k in samples.items() for k in by_k} - replayed
    lines = [
        f"### {workload}",
        "",
        "Samples to target (median over the seeds), replayed in one process: weak scaling, two "
        "blocks a stage (a deeper model for larger K; K = 2 is the ttq configuration), DNI's "
        f"staleness bound {staleness} with every delta at the bound. Target {target:.4f}.",
        "",
        "| mode | " + " | ".join(f"K={k}" for k in sorted(measured_ks)) + " | seeds |",
        "|---|" + "---:|" * len(measured_ks) + "---:|",
    ]
    for bench_mode in dict.fromkeys(b.mode for b in benches):
        by_k = samples[bench_mode]
        seeds = "/".join(  # the seeds with a curve (a run may stop short of its repeats)
            str(curves.loc[curves["benchmark"] == b.name, "repeat"].nunique())
            for b in benches
            if b.mode == bench_mode
        )
        row = " | ".join(
            _v(by_k.get(k, math.nan), ".0f") + (" †" if (bench_mode, k) in filled else "")
            for k in sorted(measured_ks)
        )
        lines.append(f"| {bench_mode} | {row} | {seeds} |")
    if any(mode in {b.mode for b in benches} for mode, _ in filled):
        lines += [
            "",
            "† not replayed: the ttq run's own samples at its K. These modes' dist order is "
            "fixed (exact schedules, asynchronous modes), so the replay of the ttq "
            "configuration trains the same parameters bit for bit "
            "(tests/runtimes/test_spec_replay.py); only the decoupled regimes, whose dist "
            "ranks regress their SG on a delta as soon as it arrives, are replayed at it.",
        ]
    lines.append("")
    try:
        throughput, source = _throughput_fn(run_dir, workload, staleness)
    except UserError as error:
        return [*lines, f"No map: the simulator cannot be calibrated ({error}).", ""], {}, []
    check, records = _check_lines(run_dir, workload, samples, throughput, curves, target)
    lines += [f"Simulator calibrated on {source} (weak scaling).", "", *check]
    exact = [m for m in samples if m in EXACT_SCHEDULES]
    maps: dict[str, list[MapCell]] = {}
    for label, quality in (
        (f"target {target:.4f}", target),
        (f"{LOW_SHARE:g} x best", LOW_SHARE * best),
    ):
        if quality == target:
            fixed_here, by_mode = fixed, samples
        else:
            fixed_here = _fixed_order_from_ttq(run_dir, workload, curves, quality)
            by_mode = _by_mode(benches, _samples(benches, curves, quality), fixed_here)
        extra = _asynchronous_from_ttq(fixed_here, set(by_mode))
        by_mode = {**by_mode, **extra}
        cells = beat_map(predict_times(by_mode, throughput, STAGES, MICROBATCHES, RULE), exact)
        maps[label] = cells
        lines += [
            f"Map at {label}: predicted time to it over the best exact schedule's "
            f"({', '.join(exact)}); bold: the mode is predicted faster; never: it does not reach "
            "it; 0: only it does; K marked * is an extrapolation (samples to target held at "
            "the largest measured K's; samples taken as independent of m, measured at the "
            "suite's m).",
            "",
            *_map_table(cells, measured_ks),
            "",
        ]
        if extra:
            lines += [
                f"Asynchronous modes without kmap benchmarks ({', '.join(extra)}): samples to "
                "target from the ttq run's own dist launches at its K only; every other K is "
                "an extrapolation for them (held at that K's).",
                "",
            ]
        for mode in dict.fromkeys(c.mode for c in cells):
            own = [c for c in cells if c.mode == mode and not c.extrapolated]
            ratios = [c.ratio for c in own if not math.isnan(c.ratio)]
            if not ratios:
                continue
            low = min(ratios)
            word = Verdict.MET if low < 1 else Verdict.MISSED
            records.append(
                VerdictRecord(
                    STUDY,
                    f"{workload} {mode} predicted faster than the best exact schedule to "
                    f"{label} at some measured K <= {max(measured_ks)} and m",
                    str(word),
                    estimate=low,
                    method="point",
                    n=len(ratios),
                    goal=1.0,
                    better="<",
                )
            )
    plot = _plot(maps, Path(run_dir) / layout.PLOTS, workload, max(measured_ks))
    heading = f"K map, {workload}: predicted time to quality over the best exact schedule's"
    return lines, ({heading: plot} if plot else {}), records


def kmap_section(run_dir: Path) -> Section | None:
    """The K map of every workload with kmap benchmarks, or None when the run has none."""
    run_dir = Path(run_dir)
    benches = [TTQBench(e.name, e.repeats, e.spec) for e in read_config(run_dir).of_kind(KMAP)]
    benches = [b for b in benches if math.isfinite(b.target)]
    if not benches or raw_results(run_dir) is None:
        return None
    curves = read_curves(run_dir)
    groups: dict[str, list[TTQBench]] = {}
    for bench in benches:
        groups.setdefault(bench.workload, []).append(bench)
    lines = [
        "## Beyond this machine: the K map",
        "",
        "Predicted time to target = samples to target (K) / simulated throughput (K, m). "
        "Samples to target at K = 2-4 come from the one-process replay of the pipeline "
        "(dnibench/runtimes/spec_replay.py: each stage's own action list, so the staleness "
        "bound and the update order are the pipeline's); throughput from the simulator, "
        "calibrated on the run's steady-state tput-* launches, not on the timed ttq runs.",
        "",
    ]
    plots: dict[str, Path] = {}
    records: list[VerdictRecord] = []
    for workload, members in groups.items():
        more, drawn, found = _workload(run_dir, workload, members, curves)
        lines += more
        plots.update(drawn)
        records += found
    return Section("\n".join(lines), plots=plots, verdicts=tuple(records))


__all__ = ["kmap_section"]
