"""Compare runs side by side: the same benchmarks on different machines or commits.

Each run keeps its own numbers; the tables put them next to each other with
the ratio to the first run, which is the baseline. Only benchmarks present
in every run are compared, since a ratio against a missing baseline means
nothing; the others are listed so nothing disappears silently.

Comparisons never clobber anything: the output folder may not lie inside an
input run (its files are evidence), and existing comparison files are never
overwritten.
"""

from __future__ import annotations

import math
from pathlib import Path

from dnibench.bench.corpus_guard import refuse_mixed_corpora
from dnibench.errors import UserError
from dnibench.report.document import Block, Heading, Image, Paragraph
from dnibench.report.html import render_html
from dnibench.report.markdown import render_markdown
from dnibench.report.plots import plot_compare
from dnibench.report.tables import MISSING, Table, fmt
from dnibench.rundir.layout import PLOTS
from dnibench.rundir.reader import RunData, load_run

__all__ = ["COMPARED", "compare_runs", "compare_table", "output_paths"]

#: Metrics compared: (metric, section title, number format, plot stem or None).
COMPARED = (
    ("throughput", "Throughput (samples/s)", ".0f", "compare_throughput"),
    ("pipeline_efficiency", "Pipeline efficiency", ".3f", "compare_efficiency"),
    ("test_accuracy", "Final test accuracy", ".4f", None),
)


def output_paths(out: Path) -> list[Path]:
    """Every file :func:`compare_runs` may write under ``out``."""
    plots = [out / PLOTS / f"{stem}.png" for _, _, _, stem in COMPARED if stem]
    return [out / "compare.md", out / "compare.html", *plots]


def _check_out(out: Path, run_dirs: list[Path]) -> None:
    """Refuse an output folder inside an input run or one that already holds a comparison."""
    resolved = out.resolve()
    for run_dir in run_dirs:
        base = run_dir.resolve()
        if resolved == base or resolved.is_relative_to(base):
            raise UserError(
                f"output folder {out} is inside the run directory {run_dir}; write the "
                f"comparison elsewhere (e.g. {base.parent / 'compare'}) so the run stays as "
                "it was measured"
            )
    if out.exists() and not out.is_dir():
        raise UserError(f"output path {out} is a file; give a folder for the comparison")
    existing = [p for p in output_paths(out) if p.exists()]
    if existing:
        names = ", ".join(str(p) for p in existing)
        raise UserError(
            f"refusing to overwrite an existing comparison ({names}); remove those files or "
            "choose another output folder (nothing was changed)"
        )


def _labels(runs: list[RunData]) -> list[str]:
    """Directory names, made unique with the parent folder (then an index) where they clash."""
    labels = [run.label for run in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{run.run_dir.parent.name}/{run.run_dir.name}" for run in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{label}#{i}" for i, label in enumerate(labels)]
    return labels


def common_benchmarks(runs: list[RunData]) -> list[str]:
    """Benchmarks in every run, in the first run's order."""
    shared = set(runs[0].benchmarks())
    for run in runs[1:]:
        shared &= set(run.benchmarks())
    return [b for b in runs[0].benchmarks() if b in shared]


def compare_table(
    runs: list[RunData], labels: list[str], metric: str, spec: str, benchmarks: list[str]
) -> Table | None:
    """Median of ``metric`` per benchmark and run, with each later run's ratio to the first.

    ``None`` when no benchmark has the metric in every run.
    """
    columns = ["benchmark"]
    for index, (run, label) in enumerate(zip(runs, labels, strict=True)):
        columns.append(f"{label} ({run.machine})")
        if index:
            columns.append(f"{label} / {labels[0]}")
    table = Table(columns, align=["l"] + ["r"] * (len(columns) - 1))
    for bench in benchmarks:
        values = [run.value(bench, metric) for run in runs]
        if all(math.isnan(v) for v in values):
            continue
        row = [bench]
        for index, value in enumerate(values):
            row.append(fmt(value, spec))
            if index:
                base = values[0]
                ok = not math.isnan(base) and base != 0 and not math.isnan(value)
                row.append(fmt(value / base, ".2f") if ok else MISSING)
        table.rows.append(row)
    return table if table.rows else None


def _runs_table(runs: list[RunData], labels: list[str]) -> Table:
    table = Table(["run", "machine", "cpu", "gpu", "torch", "backend", "world size", "directory"])
    for run, label in zip(runs, labels, strict=True):
        finger = run.fingerprint
        cells = [finger.get(k) for k in ("cpu", "gpu", "torch", "backend", "world_size")]
        shown = [MISSING if c in (None, "") else str(c) for c in cells]
        table.rows.append([label, run.machine, *shown, str(run.run_dir)])
    return table


def compare_runs(run_dirs: list[Path], out: Path) -> tuple[Path, Path]:
    """Write ``out/compare.md``, ``out/compare.html`` and ``out/plots/compare_*.png``.

    Runs are labelled by directory name and machine (cpu / gpu); ratios are to
    the first run. Raises :class:`UserError` for fewer than two runs, a
    missing or corrupt run directory, an output folder inside a run, or an
    existing comparison in ``out``. Returns (markdown, html) paths.
    """
    run_dirs = [Path(d) for d in run_dirs]
    out = Path(out)
    if len(run_dirs) < 2:
        raise UserError(f"compare needs at least two run directories, got {len(run_dirs)}")
    seen: dict[Path, Path] = {}
    for run_dir in run_dirs:
        key = run_dir.resolve()
        if key in seen:
            raise UserError(f"run directory {run_dir} is listed twice; give each run once")
        seen[key] = run_dir
    runs = [load_run(d) for d in run_dirs]
    refuse_mixed_corpora(run_dirs)
    _check_out(out, run_dirs)
    labels = _labels(runs)
    shared = common_benchmarks(runs)

    title = "dnibench comparison: " + " vs ".join(labels)
    blocks: list[Block] = [
        Heading(title, 1),
        Paragraph(f"Ratios are to the first run, {labels[0]}; values are medians over repeats."),
        _runs_table(runs, labels),
    ]
    plots_dir = out / PLOTS
    figures: list[Image] = []
    for metric, heading, spec, stem in COMPARED:
        table = compare_table(runs, labels, metric, spec, shared)
        if table is None:
            continue
        blocks += [Heading(heading), table]
        if stem:
            path = plot_compare(runs, metric, shared, plots_dir / f"{stem}.png", heading)
            if path is not None:
                figures.append(Image(f"{PLOTS}/{stem}.png", heading, f"{heading} per run"))
    if not shared:
        blocks.append(Paragraph("The runs share no benchmark, so there is nothing to compare."))
    if figures:
        blocks.append(Heading("Plots"))
        blocks += figures
    only = []
    for run, label in zip(runs, labels, strict=True):
        extra = [b for b in run.benchmarks() if b not in shared]
        if extra:
            only.append(f"only in {label}: {', '.join(extra)}")
    if only:
        blocks += [Heading("Not compared"), *(Paragraph(line) for line in only)]

    out.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out / "compare.md", out / "compare.html"
    md_path.write_text(render_markdown(blocks), encoding="utf-8")
    html_path.write_text(render_html(blocks, title), encoding="utf-8")
    return md_path, html_path
