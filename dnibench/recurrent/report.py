"""The rnn report section: BPC figure, summary, ratios dni-8 / tbptt-40, targets, copy lengths.

It reads only the run directory (results.csv, rnn_curves.csv, config.json),
so ``dnibench report RUN_DIR`` rebuilds it long after the run. Benchmarks are
recognised by their configuration (kind, regime, T), not by name: "dni-8" is
the ``rnn`` benchmark with mode dni-tbptt, T = 8 and no aux; "tbptt-40" the
tbptt one with T = 40. Targets whose benchmarks the run lacks are left out.

Seed spread, for the "better than tbptt-8 by more than the seed spread"
target, is the larger of the two benchmarks' ranges (max - min) of final BPC
over seeds: with three seeds a range is the honest statement of what varied.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnibench.recurrent.report_plots import plot_bpc, plot_copy
from dnibench.recurrent.targets import Target, copy_targets, lm_targets, reach_targets
from dnibench.report.data import load_run
from dnibench.report.sections import Section
from dnibench.report.tables import MISSING, fmt


@dataclass(frozen=True)
class Bench:
    """One recurrent benchmark of the run: its name and configuration (from config.json)."""

    name: str
    spec: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.spec.get("kind"))

    @property
    def regime(self) -> str:
        return str(self.spec.get("mode")) + ("+aux" if self.spec.get("aux") else "")

    @property
    def truncation(self) -> int:
        return int(self.spec.get("truncation", 0))


def recurrent_benches(run_dir: Path) -> list[Bench]:
    """The rnn and copy benchmarks listed in the run's config.json, in run order."""
    path = run_dir / "config.json"
    if not path.is_file():
        return []
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    entries = config.get("benchmarks", []) if isinstance(config, dict) else []
    return [
        Bench(str(e["name"]), e["spec"])
        for e in entries
        if isinstance(e, dict)
        and e.get("kind") in ("rnn", "copy")
        and isinstance(e.get("spec"), dict)
    ]


def values(results: pd.DataFrame, bench: str, metric: str) -> np.ndarray:
    """One metric of one benchmark over its repeats (NaN kept)."""
    frame = results[(results["benchmark"] == bench) & (results["metric"] == metric)]
    return frame.sort_values("repeat")["value"].to_numpy(dtype=float)


def _mean_sd(x: np.ndarray, spec: str) -> str:
    x = x[~np.isnan(x)]
    if x.size == 0:
        return MISSING
    if x.size == 1:
        return fmt(float(x[0]), spec)
    return f"{fmt(float(x.mean()), spec)} ± {fmt(float(x.std(ddof=1)), spec)}"


def _median_reached(x: np.ndarray, spec: str) -> str:
    reached = x[~np.isnan(x)]
    if x.size == 0:
        return MISSING
    if reached.size == 0:
        return "not reached"
    text = fmt(float(np.median(reached)), spec)
    return text if reached.size == x.size else f"{text} ({reached.size}/{x.size} reached)"


def _lm_table(results: pd.DataFrame, lm: list[Bench]) -> list[str]:
    lines = [
        "| benchmark | regime | T | seeds | final BPC | chars to target | seconds to target "
        "| chars/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for bench in lm:
        bpc = values(results, bench.name, "bpc")
        lines.append(
            f"| {bench.name} | {bench.regime} | {bench.truncation} | {bpc.size} "
            f"| {_mean_sd(bpc, '.3f')} "
            f"| {_median_reached(values(results, bench.name, 'samples_to_target'), '.3g')} "
            f"| {_median_reached(values(results, bench.name, 'seconds_to_target'), '.1f')} "
            f"| {fmt(float(np.nanmedian(values(results, bench.name, 'throughput'))), '.0f')} |"
        )
    return lines


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """Ratio of medians over the repeats that reached the target (NaN if either never did)."""
    top, bottom = numerator[~np.isnan(numerator)], denominator[~np.isnan(denominator)]
    if top.size == 0 or bottom.size == 0:
        return math.nan
    return float(np.median(top) / np.median(bottom))


def _ratio_table(results: pd.DataFrame, dnis: list[Bench], base: Bench) -> list[str]:
    lines = [
        f"Ratios against {base.name} (tbptt, T = {base.truncation}); below 1 favours DNI. "
        "Chars and seconds to target are medians over the seeds that reached the target.",
        "",
        "| numerator | chars to target | seconds to target | final BPC difference | chars/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for dni in dnis:
        row = [dni.name]
        for metric in ("samples_to_target", "seconds_to_target"):
            row.append(
                fmt(
                    _ratio(values(results, dni.name, metric), values(results, base.name, metric)),
                    ".2f",
                )
            )
        difference = np.nanmean(values(results, dni.name, "bpc")) - np.nanmean(
            values(results, base.name, "bpc")
        )
        row.append(fmt(float(difference), "+.3f"))
        row.append(
            fmt(
                _ratio(
                    values(results, dni.name, "throughput"),
                    values(results, base.name, "throughput"),
                ),
                ".2f",
            )
        )
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _copy_frame(results: pd.DataFrame, copies: list[Bench]) -> pd.DataFrame:
    rows = []
    for bench in copies:
        for repeat, value in enumerate(values(results, bench.name, "longest_solved")):
            rows.append(
                {
                    "task": bench.spec.get("task"),
                    "regime": bench.regime,
                    "truncation": bench.truncation,
                    "repeat": repeat,
                    "longest_solved": value,
                }
            )
    return pd.DataFrame(rows, columns=["task", "regime", "truncation", "repeat", "longest_solved"])


def _targets_table(targets: list[Target]) -> list[str]:
    lines = [
        "| target | measured | goal | verdict | missed by | what would change it |",
        "|---|---:|---:|---|---:|---|",
    ]
    return lines + [target.row() for target in targets]


def _split_note(lm: list[Bench]) -> str:
    spec = lm[0].spec
    if spec.get("data") == "ptb":
        return (
            f"Corpus: Penn Treebank characters from `{spec.get('data_dir')}`; trained on split "
            f"**{spec.get('train_split')}**, scored on the first {spec.get('eval_chars')} "
            f"characters of split **{spec.get('eval_split')}** (held-out BPC). Every run trains "
            f"on {spec.get('chars')} characters (equal data), evaluating every "
            f"{spec.get('eval_every')}."
        )
    return (
        f"Corpus: `{spec.get('text_path')}`, the first {spec.get('split')} of it for training, "
        f"scored on the first {spec.get('eval_chars')} characters of the rest."
    )


def rnn_section(run_dir: Path) -> Section | None:
    """The report section of a run holding rnn or copy benchmarks (None otherwise)."""
    run_dir = Path(run_dir)
    benches = recurrent_benches(run_dir)
    curves_path = run_dir / "rnn_curves.csv"
    if not benches or not curves_path.is_file():
        return None
    results = load_run(run_dir).results
    have = set(results["benchmark"])
    lm = [b for b in benches if b.kind == "rnn" and b.name in have]
    copies = [b for b in benches if b.kind == "copy" and b.name in have]
    curves = pd.read_csv(curves_path)
    plots: dict[str, Path] = {}
    lines = ["## Recurrent networks: truncated BPTT against DNI", ""]
    if lm:
        lines += [_split_note(lm), "", *_lm_table(results, lm), ""]
        drawn = plot_bpc(curves, run_dir / "plots")
        if drawn is not None:
            plots[BPC_FIGURE] = drawn
        base = _find(lm, "tbptt", 40)
        dnis = [b for b in lm if b.spec.get("mode") == "dni-tbptt" and b.truncation == 8]
        if base is not None and dnis:
            lines += [*_ratio_table(results, dnis, base), ""]
    copy = _copy_frame(results, copies)
    if copies:
        lines += [
            "Copy tasks: longest length solved (median over repeats, min-max in brackets "
            "when they differ); solved = mean error below the benchmark's solve_bits over "
            "its solve_window batches.",
            "",
            *_copy_table(copy),
            "",
        ]
        drawn = plot_copy(copy, run_dir / "plots")
        if drawn is not None:
            plots[COPY_FIGURE] = drawn
    names = [_name(_find(lm, regime, t)) for regime, t in DNI_TBPTT_BASE]
    targets = lm_targets(results, *names)
    targets += reach_targets(curves, names[0], names[2]) + copy_targets(copy)
    if targets:
        lines += ["### Recurrent targets", "", *_targets_table(targets), ""]
    return Section("\n".join(lines), plots)


#: Plot names double as their headings in the report's Plots section.
BPC_FIGURE = "Recurrent: held-out BPC against characters and against seconds"
COPY_FIGURE = "Recurrent: longest solved copy length against T"

#: The flagship three: dni-8, tbptt-8, tbptt-40 (regime, T).
DNI_TBPTT_BASE = (("dni-tbptt", 8), ("tbptt", 8), ("tbptt", 40))


def _name(bench: Bench | None) -> str | None:
    return None if bench is None else bench.name


def _find(lm: list[Bench], regime: str, truncation: int) -> Bench | None:
    """The first benchmark of ``regime`` (exactly: aux excluded) at ``truncation``."""
    return next((b for b in lm if b.regime == regime and b.truncation == truncation), None)


def _copy_table(copy: pd.DataFrame) -> list[str]:
    regimes = list(dict.fromkeys(copy["regime"]))
    lines = ["| task | T | " + " | ".join(regimes) + " |", "|---|---:|" + "---:|" * len(regimes)]
    for (task, truncation), group in copy.groupby(["task", "truncation"], sort=False):
        cells = []
        for regime in regimes:
            x = group[group["regime"] == regime]["longest_solved"].dropna()
            if x.empty:
                cells.append(MISSING)
                continue
            text = f"{np.median(x):g}"
            cells.append(text if x.min() == x.max() else f"{text} [{x.min():g}-{x.max():g}]")
        lines.append(f"| {task} | {truncation} | " + " | ".join(cells) + " |")
    return lines


__all__ = ["Bench", "recurrent_benches", "rnn_section", "values"]
