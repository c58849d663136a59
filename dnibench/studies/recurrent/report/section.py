"""The rnn report section: corpus, premise, DNI against tbptt, SG quality, targets, copy lengths.

It reads only the run directory (its results, recurrent curves, config and
corpus record), so ``dnibench report RUN_DIR`` rebuilds it long after the run.
Benchmarks are recognised by their configuration, not by name
(:func:`roles_of`): "tbptt-8" / "tbptt-40" are the tbptt ``rnn`` benchmarks
at T = 8 / 40; "dni-8" is dni-tbptt at T = 8 without aux at the default
sg_scale (or the only non-zero scale the run has), "dni-8+aux" the same with
aux, the control is dni-tbptt at T = 8 with sg_scale = 0, other scales
form the sg_scale comparison, and "tbptt(8,40)" is tbptt-window at T = 8.
Definitions and the premise rule are in
:mod:`dnibench.studies.recurrent.report.figures` and
:mod:`dnibench.studies.recurrent.report.targets`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnibench.report.section import Section
from dnibench.report.tables import MISSING, fmt
from dnibench.rundir.layout import PLOTS
from dnibench.rundir.reader import has_corpus, load_run, read_config, read_corpora, read_rnn_curves
from dnibench.stats import CALIBRATION_SEEDS
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.report.copy_tables import copy_lines
from dnibench.studies.recurrent.report.figures import (
    Premise,
    divergence,
    equal_seconds,
    gap_closed,
    median,
    premise_at_budget,
    seed_values,
    spread,
)
from dnibench.studies.recurrent.report.plots import plot_bpc, plot_copy, plot_sg_quality
from dnibench.studies.recurrent.report.targets import (
    LMRoles,
    Target,
    copy_targets,
    lm_targets,
    premise_of,
    seconds_premise,
)


@dataclass(frozen=True)
class Bench:
    """One recurrent benchmark of the run: its name and configuration (from the run's config)."""

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

    @property
    def sg_scale(self) -> float:
        return float(self.spec.get("sg_scale", RecurrentConfig.sg_scale))

    @property
    def calibration(self) -> bool:
        """Runs only on calibration seeds: settings are chosen on it, no verdict reads it."""
        seeds = self.spec.get("seeds")
        if not isinstance(seeds, list | tuple) or not seeds:
            return False
        return set(seeds) <= set(CALIBRATION_SEEDS)


def recurrent_benches(run_dir: Path) -> list[Bench]:
    """The rnn and copy benchmarks listed in the run's config, in run order."""
    entries = read_config(run_dir).of_kind("rnn", "copy")
    return [Bench(e.name, e.spec.as_dict()) for e in entries]


def _targets_table(targets: list[Target]) -> list[str]:
    lines = [
        "| target | measured | goal | verdict | missed by | what would change it |",
        "|---|---:|---:|---|---:|---|",
    ]
    return lines + [target.row() for target in targets]


def roles_of(lm: list[Bench]) -> LMRoles:
    """Which character-LM benchmark is tbptt-8, tbptt-40, dni-8, dni-8+aux, the control.

    Calibration benchmarks (seeds 100-102 only) take no role: verdicts read report seeds.
    """
    lm = [b for b in lm if not b.calibration]

    def first(regime: str, truncation: int, pick: Any = None) -> Bench | None:
        found = [b for b in lm if b.regime == regime and b.truncation == truncation]
        found = [b for b in found if pick is None or pick(b)]
        return found[0] if found else None

    dni8 = [b for b in lm if b.regime == "dni-tbptt" and b.truncation == 8 and b.sg_scale > 0]
    scales = sorted({b.sg_scale for b in dni8})
    chosen: float | None = RecurrentConfig.sg_scale
    if chosen not in scales:
        chosen = scales[0] if len(scales) == 1 else None

    def at_chosen(bench: Bench) -> bool:
        return bench.sg_scale == chosen

    dni = first("dni-tbptt", 8, at_chosen)
    return LMRoles(
        short=_name(first("tbptt", 8)),
        long=_name(first("tbptt", 40)),
        dni=_name(dni),
        aux=_name(first("dni-tbptt+aux", 8, at_chosen)),
        control=_name(first("dni-tbptt", 8, lambda b: b.sg_scale == 0)),
        window=_name(first("tbptt-window", 8)),
        sweep=[b.name for b in dni8 if dni is None or b.name != dni.name],
    )


def _name(bench: Bench | None) -> str | None:
    return None if bench is None else bench.name


def _cell(x: np.ndarray, spec: str) -> str:
    """Median [min, max] over seeds."""
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return MISSING
    if finite.size == 1:
        return fmt(float(finite[0]), spec)
    low, high = fmt(float(finite.min()), spec), fmt(float(finite.max()), spec)
    return f"{fmt(float(np.median(finite)), spec)} [{low}, {high}]"


def _per_seed(x: np.ndarray, spec: str) -> str:
    return ", ".join(fmt(float(v), spec) for v in x) if x.size else MISSING


def corpus_note(run_dir: Path, lm: list[Bench]) -> list[str]:
    """What the runs trained and were scored on, from corpus.json (or the spec, for old runs)."""
    spec = lm[0].spec
    budget = (
        f"Every run trains on {int(spec.get('chars', 0)):,} characters (equal data), evaluating "
        f"every {int(spec.get('eval_every', 0)):,}; seconds are the training thread's CPU seconds "
        "(evaluation excluded), so runs sharing the machine's cores each count only their own "
        "work; wall seconds are shown beside them."
    )
    if not has_corpus(run_dir):
        where = spec.get("data_dir") or spec.get("text_path") or spec.get("data")
        return [
            f"Corpus: {spec.get('data')} ({Path(str(where)).name}). This run predates corpus "
            "records and validation splits: its BPC is the final held-out BPC (no checkpoint "
            "choice), and its seconds are training wall seconds.",
            f"Every run trains on {int(spec.get('chars', 0)):,} characters (equal data).",
        ]
    corpora: dict[str, dict[str, Any]] = dict(read_corpora(run_dir))
    lines = []
    for digest in sorted({str(entry.get("sha256", "")) for entry in corpora.values()}):
        entry = next(e for e in corpora.values() if e.get("sha256") == digest)
        chars, files = entry.get("chars", {}), entry.get("files")
        described = str(entry.get("corpus"))
        if entry.get("python"):
            described += f" (the Python {entry['python']} standard library's .py files)"
        sizes = ", ".join(
            f"{split} {int(chars.get(split, 0)):,} chars"
            + (f" in {files[split]} files" if isinstance(files, dict) else "")
            for split in ("train", "valid", "test")
        )
        lines.append(
            f"Corpus: **{described}**: {sizes}; vocabulary {entry.get('vocab')} (characters seen "
            f"fewer than {entry.get('min_count')} times in train are `<unk>`); "
            f"sha256 `{digest[:16]}`."
        )
    lines.append(
        f"Each evaluation scores the first {int(spec.get('eval_chars', 0)):,} characters of "
        "valid and of test; a run's BPC is its **test BPC at its best-validation evaluation**."
    )
    if any(e.get("corpus") == "ptb" for e in corpora.values()):
        lines.append(
            "PTB: where its training file is absent, valid trains, the first half of test "
            "validates and its second half tests."
        )
    return [*lines, budget]


def _diverged_cells(results: pd.DataFrame, curves: pd.DataFrame, roles: LMRoles) -> dict[str, str]:
    cells = {}
    for name in [*roles.dnis, *([roles.control] if roles.control else [])]:
        found = divergence(results, curves, name, roles.short)
        cells[name] = "; ".join(f"seed {i}: {r}" for i, r in enumerate(found.reasons) if r)
        cells[name] = cells[name] or "none"
    return cells


def _lm_table(results: pd.DataFrame, lm: list[Bench], diverged: dict[str, str]) -> list[str]:
    lines = [
        "Per benchmark, median [min, max] over seeds.",
        "",
        "| benchmark | regime | T | sg_scale | seeds | test BPC (best valid) | seed spread "
        "| best valid BPC | final test BPC | CPU s | wall s | chars/CPU s | diverged |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for bench in lm:
        bpc = seed_values(results, bench.name)
        scale = fmt(bench.sg_scale, "g") if bench.regime.startswith("dni-tbptt") else MISSING
        lines.append(
            f"| {bench.name} | {bench.regime} | {bench.truncation} | {scale} | {bpc.size} "
            f"| {_cell(bpc, '.3f')} "
            f"| {fmt(spread(bpc), '.3f') if np.isfinite(bpc).sum() > 1 else MISSING} "
            f"| {_cell(seed_values(results, bench.name, 'best_valid_bpc'), '.3f')} "
            f"| {_cell(seed_values(results, bench.name, 'final_test_bpc'), '.3f')} "
            f"| {_cell(seed_values(results, bench.name, 'train_seconds'), '.0f')} "
            f"| {_cell(seed_values(results, bench.name, 'wall_seconds'), '.0f')} "
            f"| {_cell(seed_values(results, bench.name, 'throughput'), '.0f')} "
            f"| {diverged.get(bench.name, MISSING)} |"
        )
    return lines


def _premise_lines(results: pd.DataFrame, curves: pd.DataFrame, roles: LMRoles) -> list[str]:
    premise = premise_of(results, roles)
    if premise is None:
        return ["Premise: not measured (the run lacks tbptt-8 or tbptt-40)."]
    cut, timed = seconds_premise(curves, roles)
    verdict = "**holds**" if premise.holds else f"**fails**: {premise.failure}"
    lines = [
        "Premise (tbptt-40 beats tbptt-8, paired by seed: the interval of the per-seed margins "
        f"lies above 0), at equal characters: margin = {roles.short} minus {roles.long} per "
        f"seed, {premise.interval.text('+.3f')}; seed spreads {spread(premise.short):.3f} "
        f"({roles.short}) and {spread(premise.long):.3f} ({roles.long}); {verdict}."
    ]
    if timed is not None and math.isfinite(cut):
        timed_verdict = "**holds**" if timed.holds else f"**fails**: {timed.failure}"
        lines[0] += (
            f" At equal seconds (every run cut at {cut:.0f} CPU s, the shortest run's): margin "
            f"{timed.interval.text('+.3f')}; {timed_verdict}."
        )
    lines[0] += (
        " Every DNI-against-tbptt-40 verdict needs this premise; where it fails the verdict "
        'reads "not testable".'
    )
    return lines


def _budget_lines(curves: pd.DataFrame, roles: LMRoles, budget: int) -> list[str]:
    """The premise at a quarter, half and all of the budget, read off the curves."""
    if roles.short is None or roles.long is None or budget <= 0:
        return []
    lines = [
        "The premise at smaller budgets, read off the same curves (a constant learning rate "
        "and a fixed data order make a shorter run the first part of this one):",
        "",
        "| characters | tbptt-8 (per seed) | tbptt-40 (per seed) | paired margin, median "
        "| interval | premise |",
        "|---:|---|---|---:|---:|---|",
    ]
    for share in (0.25, 0.5, 1.0):
        chars = budget * share
        premise = premise_at_budget(curves, roles.short, roles.long, chars)
        verdict = "holds" if premise.holds else f"fails: {premise.failure}"
        lines.append(
            f"| {chars:,.0f} | {_per_seed(premise.short, '.3f')} "
            f"| {_per_seed(premise.long, '.3f')} | {fmt(premise.margin, '+.3f')} "
            f"| [{fmt(premise.interval.low, '+.3f')}, {fmt(premise.interval.high, '+.3f')}] "
            f"| {verdict} |"
        )
    return lines


def _dni_table(
    results: pd.DataFrame, curves: pd.DataFrame, roles: LMRoles, scales: dict[str, float]
) -> list[str]:
    """Gap closed per seed at equal characters and seconds, DNI minus tbptt-8, SG at the end."""
    if roles.short is None or roles.long is None or not roles.dnis:
        return []
    short, long = seed_values(results, roles.short), seed_values(results, roles.long)
    compared = [*roles.dnis, *([roles.control] if roles.control else [])]
    cut, cut_bpc = equal_seconds(curves, [roles.short, roles.long, *compared])
    lines = [
        f"Gap closed = (BPC {roles.short} - BPC dni) / (BPC {roles.short} - BPC {roles.long}), "
        "each seed against its own baselines (paired by seed); per seed, then the median. At "
        f"equal seconds every run is cut at {cut:.0f} CPU s. SG figures are each seed's last "
        "probe: cosine and relative error against the true gradient of the next 40 characters "
        "discounted by gamma per chunk, the SG's share (norm of the part of the boundary "
        "gradient it carries over the within-chunk part), and held-out R^2 of the learned SG "
        "and of the ridge ceiling (the best linear SG, refitted at every checkpoint), median "
        "[min, max].",
        "",
        "| benchmark | sg_scale | gap closed, chars (per seed) | median | gap closed, seconds "
        "(per seed) | median | BPC minus tbptt-8 (paired) | SG cosine | SG rel. error "
        "| SG share | SG R^2 | ceiling R^2 |",
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    premise, (_, timed) = premise_of(results, roles), seconds_premise(curves, roles)
    for name in compared:
        dni = seed_values(results, name)
        by_chars = gap_closed(dni, short, long)
        by_seconds = gap_closed(cut_bpc[name], cut_bpc[roles.short], cut_bpc[roles.long])
        chars_cells = _gap_cells(by_chars, premise)
        seconds_cells = _gap_cells(by_seconds, timed)
        lines.append(
            f"| {name} | {fmt(scales.get(name, math.nan), 'g')} "
            f"| {chars_cells} | {seconds_cells} "
            f"| {fmt(median(_paired_minus(dni, short)), '+.3f')} "
            f"| {_cell(seed_values(results, name, 'sg_cosine'), '.2f')} "
            f"| {_cell(seed_values(results, name, 'sg_relative_error'), '.2f')} "
            f"| {_cell(seed_values(results, name, 'sg_carried_ratio'), '.2f')} "
            f"| {_cell(seed_values(results, name, 'sg_r2'), '.3f')} "
            f"| {_cell(seed_values(results, name, 'ceiling_r2'), '.3f')} |"
        )
    return lines


def _paired_minus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per seed (repeat order), ``a - b``."""
    count = min(a.size, b.size)
    return a[:count] - b[:count]


def _gap_cells(closed: np.ndarray, premise: Premise | None) -> str:
    """Per-seed and median gap closed, or "not testable" where its premise fails."""
    if premise is None or not premise.holds:
        return "not testable (premise fails) | —"
    return f"{_per_seed(closed, '.2f')} | {fmt(median(closed), '.2f')}"


def _lm_lines(
    run_dir: Path, results: pd.DataFrame, curves: pd.DataFrame, lm: list[Bench]
) -> tuple[list[str], dict[str, Path], list[Target]]:
    roles = roles_of(lm)
    scales = {b.name: b.sg_scale for b in lm}
    lines = [*corpus_note(run_dir, lm), ""]
    lines += [*_lm_table(results, lm, _diverged_cells(results, curves, roles)), ""]
    lines += [*_premise_lines(results, curves, roles), ""]
    lines += [*_budget_lines(curves, roles, int(lm[0].spec.get("chars", 0))), ""]
    lines += [*_dni_table(results, curves, roles, scales), ""]
    plots = {}
    for name, drawn in (
        (BPC_FIGURE, plot_bpc(curves, run_dir / PLOTS)),
        (SG_FIGURE, plot_sg_quality(curves, run_dir / PLOTS)),
    ):
        if drawn is not None:
            plots[name] = drawn
    return lines, plots, lm_targets(results, curves, roles)


def rnn_section(run_dir: Path) -> Section | None:
    """The report section of a run holding rnn or copy benchmarks (None otherwise)."""
    run_dir = Path(run_dir)
    benches = recurrent_benches(run_dir)
    curves = read_rnn_curves(run_dir) if benches else None
    if curves is None:
        return None
    results = load_run(run_dir).results
    have = set(results["benchmark"])
    lm = [b for b in benches if b.kind == "rnn" and b.name in have]
    copies = [b for b in benches if b.kind == "copy" and b.name in have]
    if "valid_bpc" not in curves:  # runs made before validation was scored
        curves["valid_bpc"] = curves["test_bpc"]
    plots: dict[str, Path] = {}
    lines = ["## Recurrent networks: truncated BPTT against DNI", ""]
    targets: list[Target] = []
    if lm:
        lm_lines, plots, targets = _lm_lines(run_dir, results, curves, lm)
        lines += lm_lines
    copy_markdown, copy = copy_lines(results, copies)
    lines += copy_markdown
    if copies:
        drawn = plot_copy(copy, run_dir / PLOTS)
        if drawn is not None:
            plots[COPY_FIGURE] = drawn
    targets += copy_targets(copy)
    if targets:
        lines += ["### Recurrent targets", "", *_targets_table(targets), ""]
    return Section("\n".join(lines), plots, tuple(t.record("recurrent") for t in targets))


#: Plot names double as their headings in the report's Plots section.
BPC_FIGURE = "Recurrent: validation and test BPC against characters and against seconds"
SG_FIGURE = "Recurrent: synthetic-gradient quality against characters"
COPY_FIGURE = "Recurrent: longest solved copy length against T"

__all__ = ["Bench", "corpus_note", "recurrent_benches", "rnn_section", "roles_of"]
