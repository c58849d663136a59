"""The ``dnibench simulate`` run directory: tidy results, plots and a report.

Written once everything is computed, into a directory that did not exist
(or was empty): ``results.csv`` (one row per simulated configuration x metric,
plus per-stage rows for K <= 16), its config (marked ``"derived": "simulation"``:
what was simulated and the calibrated costs), ``plots/scaling.png``
(efficiency and throughput against K per regime, one column per m),
``plots/overtake.png`` (DNI over 1F1B throughput on K x m, one panel per SG relative cost) and
``plots/predicted_vs_measured.png`` (the calibration run's benchmarks,
simulated against measured), ``fingerprint.json`` (the simulating machine;
the calibration run's own fingerprint is copied into the config) and
``report.md``/``report.html`` stating where each regime's efficiency falls
below 0.5 and where DNI overtakes 1F1B.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter

from dnibench.modes import DNI, ONE_F_ONE_B
from dnibench.report.build import write_documents
from dnibench.report.document import Block, Heading, Image, Markdown, Paragraph, Preformatted
from dnibench.report.style import figure, palette, save, styled
from dnibench.rundir import writer as rundir_writer
from dnibench.rundir.layout import PLOTS, SIMULATION
from dnibench.simulate.crossover import RANGE, Crossover, crossover_markdown
from dnibench.simulate.out_of_sample import OUT_OF_SAMPLE_TARGET
from dnibench.simulate.report.agreement_plot import PLOT_FILE, plot_predicted_vs_measured
from dnibench.simulate.report.provenance import ENVIRONMENT_NOTE, Provenance
from dnibench.simulate.scaling import (
    ModelCosts,
    SweepPoint,
    first_below,
    overtake,
    sg_cost_matters,
)
from dnibench.simulate.validate import ValidationRow, validation_markdown

OUT_OF_SAMPLE_NOTE = (
    "The simulator's headline agreement: each benchmark predicted from the spans of the same "
    "regime at the nearest other m of the calibration run (never its own), per-microbatch "
    "compute scaled by the ratio of microbatch sizes, optimiser, sends, overhead and link "
    f"kept as measured; target within {OUT_OF_SAMPLE_TARGET:.0%}."
)

__all__ = ["results_frame", "write_simulation"]

_PER_STAGE_UP_TO = 16
#: Plain tick labels: the report style turns mathtext off, which breaks log-axis defaults.
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def results_frame(points: Sequence[SweepPoint]) -> pd.DataFrame:
    """Tidy rows: benchmark, mode, stages, microbatches, sg_relative, metric, stage, value, unit."""
    rows: list[dict[str, object]] = []
    for p in points:
        pred = p.prediction
        name = f"sim-{p.mode}-K{p.stages}-m{p.microbatches}-sg{p.sg_relative:.3g}"

        def add(
            metric: str,
            value: float,
            unit: str,
            stage: int = -1,
            name: str = name,
            p: SweepPoint = p,
        ) -> None:
            rows.append(
                {
                    "benchmark": name,
                    "mode": p.mode,
                    "stages": p.stages,
                    "microbatches": p.microbatches,
                    "sg_relative": p.sg_relative,
                    "metric": metric,
                    "stage": stage,
                    "repeat": 0,
                    "value": float(value),
                    "unit": unit,
                }
            )

        idle = np.asarray(pred.idle_fraction)
        add("throughput", pred.throughput, "samples/s")
        add("ideal_throughput", pred.ideal_throughput, "samples/s")
        add("pipeline_efficiency", pred.efficiency, "ratio")
        add("speedup_efficiency", p.speedup_efficiency, "ratio")
        add("step_time", pred.step_time * 1e3, "ms")
        add("activation_memory", pred.activation_memory, "microbatches")
        add("sg_held_peak", max(pred.peak_sg_held), "microbatches")
        add("idle_fraction_mean", float(idle.mean()), "ratio")
        add("idle_fraction_max", float(idle.max()), "ratio")
        add("wait_activation_fraction_mean", float(np.mean(pred.wait_activation_fraction)), "ratio")
        add("wait_gradient_fraction_mean", float(np.mean(pred.wait_gradient_fraction)), "ratio")
        if p.stages <= _PER_STAGE_UP_TO:
            for k in range(p.stages):
                add("busy_fraction", pred.busy_fraction[k], "ratio", k)
                add("wait_activation_fraction", pred.wait_activation_fraction[k], "ratio", k)
                add("wait_gradient_fraction", pred.wait_gradient_fraction[k], "ratio", k)
                add("activation_memory", pred.peak_in_flight[k], "microbatches", k)
    return pd.DataFrame(rows)


def _at_measured_sg(points: Sequence[SweepPoint], model: ModelCosts) -> list[SweepPoint]:
    return [
        p
        for p in points
        if not sg_cost_matters(p.mode) or math.isclose(p.sg_relative, model.sg_relative)
    ]


def plot_scaling(points: Sequence[SweepPoint], path: Path) -> Path:
    """Pipeline and speedup efficiency and throughput against K per regime; a column per m."""
    ms = sorted({p.microbatches for p in points})
    modes = list(dict.fromkeys(p.mode for p in points))
    colours = palette(modes)
    metrics = (
        ("pipeline efficiency", lambda p: p.prediction.efficiency),
        ("speedup efficiency", lambda p: p.speedup_efficiency),
        ("throughput (samples/s)", lambda p: p.prediction.throughput),
    )
    with styled():
        fig = figure(3.0 * len(ms) + 1.5, 8.0)
        axes = fig.subplots(len(metrics), len(ms), squeeze=False, sharex=True)
        for col, m in enumerate(ms):
            for row, (label, value) in enumerate(metrics):
                ax = axes[row][col]
                for mode in modes:
                    chosen = sorted(
                        (p for p in points if p.mode == mode and p.microbatches == m),
                        key=lambda p: p.stages,
                    )
                    if chosen:
                        ax.plot(
                            [p.stages for p in chosen],
                            [value(p) for p in chosen],
                            marker="o",
                            ms=3,
                            label=mode,
                            color=colours[mode],
                        )
                ax.set_xscale("log", base=2)
                ax.xaxis.set_major_formatter(_PLAIN)
                ax.xaxis.set_minor_formatter(NullFormatter())
                if row < 2:
                    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
                    ax.set_ylim(0, 1.05)
                else:
                    ax.set_yscale("log")
                    ax.yaxis.set_major_formatter(_PLAIN)
                    ax.yaxis.set_minor_formatter(NullFormatter())
                if col == 0:
                    ax.set_ylabel(label)
                if row == 0:
                    ax.set_title(f"m = {m}")
                if row == len(metrics) - 1:
                    ax.set_xlabel("stages K")
        axes[0][-1].legend(fontsize="small", loc="best")
        return save(fig, path)


def overtake_table(points: Sequence[SweepPoint]) -> dict[float, dict[tuple[int, int], float]]:
    """Per SG relative cost, (K, m) -> DNI throughput / 1F1B throughput."""
    fused = ONE_F_ONE_B.name
    base = {(p.stages, p.microbatches): p.prediction.throughput for p in points if p.mode == fused}
    maps: dict[float, dict[tuple[int, int], float]] = {}
    for p in points:
        if p.mode == DNI.name and (p.stages, p.microbatches) in base:
            ratio = p.prediction.throughput / base[(p.stages, p.microbatches)]
            maps.setdefault(p.sg_relative, {})[(p.stages, p.microbatches)] = ratio
    return maps


def plot_overtake(maps: dict[float, dict[tuple[int, int], float]], path: Path) -> Path:
    """Heat maps of log2(DNI / 1F1B throughput) over K x m, one panel per SG relative cost."""
    rels = sorted(maps)
    with styled():
        fig = figure(3.6 * len(rels) + 1, 3.6)
        axes = fig.subplots(1, len(rels), squeeze=False)[0]
        image = None
        for ax, rel in zip(axes, rels, strict=True):
            ks = sorted({k for k, _ in maps[rel]})
            ms = sorted({m for _, m in maps[rel]})
            grid = np.array([[math.log2(maps[rel].get((k, m), math.nan)) for k in ks] for m in ms])
            image = ax.imshow(grid, origin="lower", cmap="RdBu", vmin=-3, vmax=3, aspect="auto")
            ax.grid(False)
            ax.contour(grid, levels=[0.0], colors="black", linewidths=1.0)
            ax.set_xticks(range(len(ks)), [str(k) for k in ks], rotation=90, fontsize="x-small")
            ax.set_yticks(range(len(ms)), [str(m) for m in ms], fontsize="x-small")
            ax.set_xlabel("stages K")
            ax.set_title(f"SG cost {rel:.3g} x stage F+B")
        axes[0].set_ylabel("microbatches m")
        if image is not None:
            fig.colorbar(image, ax=list(axes), label="log2(DNI / 1F1B throughput)")
        return save(fig, path)


def _fmt_k(k: int | None, top: int) -> str:
    return f"K = {k}" if k is not None else f"stays >= 0.5 up to K = {top}"


def threshold_table(points: Sequence[SweepPoint]) -> str:
    """Markdown: per regime and m, the K where each efficiency first falls below 0.5."""
    top = max(p.stages for p in points)
    lines = [
        "| regime | m | pipeline efficiency < 0.5 from | speedup efficiency < 0.5 from "
        f"| pipeline efficiency at K = {top} | activation memory at K = {top} |",
        "|---|---:|---|---|---:|---:|",
    ]
    for mode in dict.fromkeys(p.mode for p in points):
        for m in sorted({p.microbatches for p in points if p.mode == mode}):
            at_top = [
                p for p in points if p.mode == mode and p.microbatches == m and p.stages == top
            ]
            eff = f"{at_top[0].prediction.efficiency:.3f}" if at_top else "—"
            mem = str(at_top[0].prediction.activation_memory) if at_top else "—"
            below = _fmt_k(first_below(points, mode, m, "pipeline"), top)
            speed = _fmt_k(first_below(points, mode, m, "speedup"), top)
            lines.append(f"| {mode} | {m} | {below} | {speed} | {eff} | {mem} |")
    return "\n".join(lines)


def overtake_sentences(maps: dict[float, dict[tuple[int, int], float]], measured: float) -> str:
    """One line per SG cost and m: from which K DNI's throughput stays above 1F1B's."""
    lines = []
    for rel in sorted(maps):
        tag = " (as measured)" if math.isclose(rel, measured) else ""
        ones = {key: 1.0 for key in maps[rel]}
        parts = []
        for m in sorted({m for _, m in maps[rel]}):
            k = overtake(maps[rel], ones, m)
            parts.append(f"m = {m}: from K = {k}" if k is not None else f"m = {m}: never")
        lines.append(f"- SG cost {rel:.3g} of a stage's F+B{tag}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _costs_table(model: ModelCosts) -> str:
    ms = lambda v: f"{v * 1e3:.3f}"  # noqa: E731
    k = model.calibrated_stages
    rows = [
        ("forward (one measured stage)", ms(model.forward / k)),
        ("backward (one measured stage)", ms(model.backward / k)),
        ("optimiser (one measured stage, per step)", ms(model.optimizer / k)),
        ("SG regression (per stage)", ms(model.sg_update)),
        ("SI forward (per stage)", ms(model.si_forward)),
        ("SI regression (per stage)", ms(model.si_update)),
        ("send (per message)", ms(model.send)),
        ("overhead (per action)", ms(model.overhead)),
        ("link delay (per message)", ms(model.link.delay)),
    ]
    body = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return "| cost per microbatch | ms |\n|---|---:|\n" + body


def write_simulation(
    out: Path,
    *,
    title: str,
    model: ModelCosts,
    points: Sequence[SweepPoint],
    settings: Mapping[str, object],
    command: str,
    validation: Sequence[ValidationRow],
    provenance: Provenance,
    crossover: tuple[str, Sequence[Crossover] | None] | None = None,
    out_of_sample: Sequence[ValidationRow] = (),
    refused: Sequence[str] = (),
) -> Path:
    """Write the simulate run directory ``out`` (report titled ``title``); returns report.md.

    ``refused``: the sweep's combinations a mode refuses (left out of every table),
    listed so that a missing cell reads as "not applicable", not as a gap.

    ``out_of_sample``: the calibration run's benchmarks predicted from another m
    (:mod:`dnibench.simulate.out_of_sample`), the headline agreement; ``validation``
    (each from its own spans) follows as a consistency check.

    ``crossover``: (why the map is or is not drawn, its cells or None when not drawn).
    """
    plots = out / PLOTS
    rundir_writer.write_results_text(out, results_frame(points).to_csv(index=False))
    config = {
        "command": command,
        "settings": settings,
        "model_costs": asdict(model),
        "source_fingerprints": provenance.source_fingerprints(),
    }
    if crossover is not None:
        config["crossover"] = {
            "premise": crossover[0],
            "cells": [asdict(c) for c in crossover[1]] if crossover[1] is not None else None,
        }
    rundir_writer.write_derived_config(out, SIMULATION, config)
    provenance.write(out)
    measured = _at_measured_sg(points, model)
    plot_scaling(measured, plots / "scaling.png")
    agreement = plot_predicted_vs_measured(
        validation, out / PLOT_FILE, "Simulated against measured (calibration run)"
    )
    maps = overtake_table(points)
    blocks: list[Block] = [
        Heading(f"dnibench simulate: {title}", 1),
        Paragraph(
            f"Calibrated from {model.source}; {settings['scaling']} scaling "
            f"({_SCALING_NOTE[str(settings['scaling'])]}); microbatch of "
            f"{model.microbatch_size} samples; {settings['steps']} simulated steps of "
            f"which {settings['warmup']} warm-up."
        ),
        Heading("Command to reproduce"),
        Preformatted(command),
        Heading("Environment"),
        Paragraph(ENVIRONMENT_NOTE),
        provenance.table(),
        Heading("Calibrated costs"),
        Markdown(_costs_table(model)),
    ]
    if refused:
        blocks += [
            Heading("Not applicable: combinations a mode refuses"),
            Paragraph(
                "Left out of every table below, as a real run would refuse them: "
                + "; ".join(refused)
                + "."
            ),
        ]
    if out_of_sample:
        blocks += [
            Heading("Out of sample: the calibration run predicted from another m"),
            Paragraph(OUT_OF_SAMPLE_NOTE),
            Markdown(validation_markdown(list(out_of_sample))),
        ]
    blocks += [
        Heading("Consistency check: each benchmark from its own spans (in sample)"),
        Paragraph(
            "Each benchmark of the calibration run simulated from its own launches' spans: "
            "this shows the simulator reproduces what it was fed, not that it predicts."
        ),
        Markdown(validation_markdown(list(validation))),
    ]
    if agreement is not None:
        blocks.append(
            Image(
                PLOT_FILE,
                "simulated against measured throughput",
                "One point per benchmark of the calibration run, coloured by regime; dashed: "
                "y = x; shaded: the accepted error; circled and named: outside the target.",
            )
        )
    blocks += [
        Heading("Where efficiency falls below 0.5"),
        Paragraph(
            "Pipeline efficiency is docs/metrics.md's: throughput over the ideal set by the "
            "busiest stage (SG/SI work counts as busy). Speedup efficiency is throughput "
            "over K times the whole model's rate on one worker, so SG/SI work and "
            "per-stage overhead count as waste."
        ),
        Markdown(threshold_table(measured)),
        Image(
            f"{PLOTS}/scaling.png",
            "scaling curves",
            "Efficiency and throughput against K (log axis) at the measured SG cost; "
            "dashed line: 0.5.",
        ),
    ]
    if maps:
        plot_overtake(maps, plots / "overtake.png")
        blocks += [
            Heading("Where DNI overtakes 1F1B"),
            Paragraph(
                "DNI's throughput against 1F1B's on the same model, microbatch and "
                "links; the K from which DNI stays ahead, per SG relative cost and m:"
            ),
            Markdown(overtake_sentences(maps, model.sg_relative)),
            Image(
                f"{PLOTS}/overtake.png",
                "overtake map",
                "log2 of DNI over 1F1B throughput; blue: DNI faster; black line: parity.",
            ),
        ]
    if crossover is not None:
        blocks += _crossover_blocks(*crossover, measured=model.sg_relative)
    md, _ = write_documents(out, blocks, f"dnibench simulate: {title}")
    return md


def _crossover_blocks(
    premise: str, cells: Sequence[Crossover] | None, measured: float | None = None
) -> list[Block]:
    """The DNI-against-zb crossover map, or why it is not drawn."""
    blocks: list[Block] = [Heading("Where DNI stops beating zero-bubble (dni / zb = 1)")]
    if cells is None:
        return [*blocks, Paragraph(f"Not drawn: {premise}.")]
    blocks.append(
        Paragraph(
            f"Premise: {premise}. Each cell is the SG relative cost (the SG regression's time "
            "over one stage's forward + backward) at which the simulated DNI throughput equals "
            "zb's on the same model, microbatch and links, found by bisection over "
            f"{RANGE[0]:g} to {RANGE[1]:g}; below it DNI is faster. 'none (DNI slower)': DNI "
            f"is slower than zb even with a free SG; 'none (above {RANGE[1]:g})': DNI is faster "
            "over the whole range."
        )
    )
    blocks.append(Markdown(crossover_markdown(cells)))
    if measured is not None:
        ahead = sorted(
            (c.stages, c.microbatches)
            for c in cells
            if (c.sg_relative is not None and c.sg_relative > measured)
            or (c.sg_relative is None and c.ratio_top > 1)
        )
        blocks.append(
            Paragraph(
                f"The measured SG costs {measured:.3g} of a stage's F+B: DNI is predicted "
                f"faster than zb in {len(ahead)} of {len(cells)} cells (those whose value "
                "exceeds it), slower in the rest."
            )
        )
    return blocks


_SCALING_NOTE = {
    "strong": "the measured model split evenly over K stages, total compute constant; SG, SI, "
    "send and per-action overhead stay per stage",
    "weak": "every stage keeps the measured per-stage compute and SG, SI, send and overhead "
    "costs, the model grows with K; --scaling strong splits the measured model instead",
}
