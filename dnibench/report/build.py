"""Assemble a run's report and write it as ``report.md`` and ``report.html``.

The content is built once as blocks (see :mod:`document`) in the order a
reader needs it: what was run and how to reproduce it, the side-by-side
summary, the caller's target checks, the figures, what was not measured,
and the machine it ran on.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from dnibench.report.document import Block, Heading, Image, Markdown, Paragraph, Preformatted
from dnibench.report.findings import VerdictRecord, findings_sentences, verdict_rows
from dnibench.report.hooks import ReportHooks
from dnibench.report.html import render_html
from dnibench.report.markdown import render_markdown
from dnibench.report.plots import make_plots
from dnibench.report.tables import (
    environment_table,
    pipeline_table,
    status_table,
    training_table,
)
from dnibench.rundir import writer
from dnibench.rundir.layout import PLOTS, REPORT_HTML, REPORT_MD
from dnibench.rundir.reader import RunData, load_run

__all__ = ["PLOT_CAPTIONS", "report_blocks", "write_documents", "write_reports"]

#: Title and caption of each run figure.
PLOT_CAPTIONS = {
    "throughput": (
        "Throughput and pipeline efficiency",
        "Bars: median over repeats; whiskers: min to max. Efficiency is throughput over the"
        " ideal (microbatch samples / the slowest stage's busy time per microbatch).",
    ),
    "lock_idle": (
        "Where each stage's time went",
        "Busy (compute spans), wait activation (forward lock), wait gradient (update/backward"
        " lock or the staleness bound), comm (send calls), other (scheduling, Python; for"
        " torch peers their internal waits). Benchmarks with spans off show only 'other'.",
    ),
    "timeline": (
        "Steady-state timelines",
        "A few steps right after warm-up from the first repeat's trace; one lane per stage,"
        " thin black lines mark step starts.",
    ),
    "learning_curves": (
        "Learning curves",
        "Test accuracy against samples seen (data efficiency) and against the training"
        " steps' CPU seconds; bands span the repeats (seeds).",
    ),
    "memory": (
        "Peak memory per stage",
        "Peak resident set size of each stage's process; median over repeats, whiskers min-max.",
    ),
}

_PIPELINE_NOTE = (
    "Throughput is the median over repeats of each repeat's median per-step throughput after"
    " warm-up; IQR is that repeat's spread over steps (median over repeats). Per-stage cells"
    " read stage 0 / stage 1 / ...: busy is the compute fraction, lock idle the time spent"
    " waiting for an activation or a gradient, comm the send time, all as fractions of the"
    " measured window (mean over repeats); a dash means not measured (spans off, or a PyTorch"
    " peer whose waits could not be timed). Efficiency is against the pipeline's own slowest"
    " stage; HW-limit efficiency is throughput / (cores used x single-1t-m{m} throughput),"
    " cores used = processes x threads (a dash: no same-model single-1t run at that m)."
)
_TRAINING_NOTE = (
    "Final test accuracy and loss are mean ± standard deviation over repeats (seeds);"
    " samples and seconds to target are medians over the repeats that reached the target."
)


def _machine_line(run: RunData) -> str:
    finger = run.fingerprint
    bits = [f"machine: {run.machine}"]
    for key in ("cpu", "cores", "gpu", "torch", "backend", "world_size"):
        if finger.get(key) not in (None, ""):
            bits.append(f"{key} {finger[key]}")
    return f"Run directory {run.run_dir.name}; " + ", ".join(bits) + "."


def _fastest_line(run: RunData) -> str:
    """Which pipeline benchmark was fastest and by how much over the next (medians of launches)."""
    speeds = {b: run.value(b, "throughput") for b in run.pipeline_benchmarks()}
    ranked = sorted(((v, b) for b, v in speeds.items() if not math.isnan(v)), reverse=True)
    if len(ranked) < 2:
        return ""
    (top, best), (second, runner) = ranked[0], ranked[1]
    return (
        f"Fastest benchmark: {best} at {top:.0f} samples/s, {top / second:.3f}x the next "
        f"({runner}, {second:.0f}); medians over launches, no interval (see the verdicts for "
        "comparisons that carry one)."
    )


def findings_blocks(run: RunData, verdicts: Sequence[VerdictRecord]) -> list[Block]:
    """The "Findings" heading and sentences the report opens with, from the verdicts."""
    sentences = findings_sentences(verdicts)
    if not sentences:
        sentences = ["No study gave a verdict on this run."]
    fastest = _fastest_line(run)
    if fastest:
        sentences.append(fastest)
    return [Heading("Findings"), *(Paragraph(s) for s in sentences)]


def report_blocks(
    run: RunData,
    plots: dict[str, Path],
    *,
    title: str,
    command: str | None,
    extra_markdown: str,
    hooks: ReportHooks | None = None,
    verdicts: Sequence[VerdictRecord] = (),
) -> list[Block]:
    """The report's content, with ``plots`` (name -> saved path) shown in the Plots section.

    It opens with the findings in words, written from ``verdicts``.
    """
    blocks: list[Block] = [Heading(title, 1), Paragraph(_machine_line(run))]
    blocks += findings_blocks(run, verdicts)
    if command:
        blocks += [Heading("Command to reproduce"), Preformatted(command)]
    blocks.append(Heading("Summary"))
    pipeline = pipeline_table(run, hooks)
    training = training_table(run)
    if pipeline is not None:
        blocks += [Heading("Pipeline benchmarks", 3), Paragraph(_PIPELINE_NOTE), pipeline]
    if training is not None:
        blocks += [Heading("Training benchmarks", 3), Paragraph(_TRAINING_NOTE), training]
    if pipeline is None and training is None and not run.recurrent_benchmarks():
        blocks.append(Paragraph("results.csv holds no pipeline or training metrics yet."))
    if extra_markdown.strip():
        blocks.append(Markdown(extra_markdown))
    if plots:
        blocks.append(Heading("Plots"))
        for name, path in plots.items():
            heading, caption = PLOT_CAPTIONS.get(name, (name, ""))
            src = Path(os.path.relpath(path, run.run_dir)).as_posix()
            blocks += [Heading(heading, 3), Image(src, heading, caption)]
    blocks.append(Heading("Not measured"))
    failed = status_table(run)
    if failed is not None:
        blocks += [Paragraph("Benchmarks (or repeats) whose status is not ok:"), failed]
    elif run.status.empty:
        blocks.append(Paragraph("This run has no status.csv, so nothing can be said here."))
    else:
        blocks.append(Paragraph("Nothing: every benchmark in status.csv finished ok."))
    blocks.append(Heading("Environment"))
    env = environment_table(run.fingerprint)
    blocks.append(env if env is not None else Paragraph("This run has no fingerprint.json."))
    return blocks


def write_reports(
    run_dir: Path,
    *,
    title: str | None = None,
    command: str | None = None,
    extra_markdown: str = "",
    extra_plots: dict[str, Path] | None = None,
    hooks: ReportHooks | None = None,
    verdicts: Sequence[VerdictRecord] = (),
) -> tuple[Path, Path]:
    """Draw the figures into ``run_dir/plots`` and write ``report.md`` and ``report.html``.

    Both files are derived from the run's data and are rewritten on every
    call. ``extra_markdown`` (target tables, notes) goes after the summary;
    in the HTML it is converted from Markdown. ``extra_plots`` (name -> path,
    drawn by a report section) are shown after the standard figures; a name
    can take its heading and caption from ``PLOT_CAPTIONS``. ``hooks`` are the
    studies' additions to the summary (:mod:`dnibench.report.hooks`).
    ``verdicts`` (the sections' verdicts) open the report as findings in words
    and are written to the run's verdicts file. Returns (markdown, html) paths.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    plots = {**make_plots(run, run_dir / PLOTS, hooks), **(extra_plots or {})}
    title = title or f"dnibench report: {run_dir.name}"
    blocks = report_blocks(
        run, plots, title=title, command=command, extra_markdown=extra_markdown, hooks=hooks,
        verdicts=verdicts,
    )  # fmt: skip
    writer.write_verdicts(run_dir, verdict_rows(verdicts))
    return write_documents(run_dir, blocks, title)


def write_documents(out_dir: Path, blocks: list[Block], title: str) -> tuple[Path, Path]:
    """Render ``blocks`` as ``out_dir/report.md`` and ``out_dir/report.html``; their paths.

    Every report dnibench writes (runs, simulations, cross-checks) ends here,
    so the two formats always carry the same content.
    """
    md_path = writer.write_text(out_dir / REPORT_MD, render_markdown(blocks))
    html_path = writer.write_text(out_dir / REPORT_HTML, render_html(blocks, title))
    return md_path, html_path
