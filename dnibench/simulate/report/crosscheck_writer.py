"""The ``dnibench simulate --predict`` run directory: tidy rows and a short report.

Written into a directory that did not exist (or was empty): ``results.csv``
(per compared benchmark: predicted and measured throughput, their relative
error and the target), its config (marked ``"derived": "crosscheck"``: the
command, both runs, the straggler, what was skipped and why, both runs' own
fingerprints), the simulating machine's fingerprint,
``plots/predicted_vs_measured.png`` and ``report.md``/``report.html`` with
the table, the figure and a sentence counting the benchmarks within target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dnibench.report.build import write_documents
from dnibench.report.document import Block, Heading, Image, Markdown, Paragraph, Preformatted
from dnibench.rundir import writer as rundir_writer
from dnibench.rundir.layout import CROSSCHECK, RESULT_COLUMNS
from dnibench.simulate.crosscheck import Straggler
from dnibench.simulate.report.agreement_plot import PLOT_FILE, plot_predicted_vs_measured
from dnibench.simulate.report.provenance import ENVIRONMENT_NOTE, Provenance
from dnibench.simulate.validate import TARGET, TARGET_STRAGGLER, ValidationRow, validation_markdown

__all__ = ["crosscheck_frame", "write_crosscheck"]


def crosscheck_frame(rows: Sequence[ValidationRow]) -> pd.DataFrame:
    """Tidy rows (benchmark, mode, stages, microbatches, metric, stage, repeat, value, unit).

    Only compared benchmarks appear; skipped ones are listed in the config
    and the report.
    """
    records: list[dict[str, object]] = []
    for row in rows:
        if row.skipped:
            continue
        for metric, value, unit in (
            ("predicted_throughput", row.predicted, "samples/s"),
            ("measured_throughput", row.measured, "samples/s"),
            ("throughput_error", row.error, "ratio"),
            ("error_target", row.target, "ratio"),
        ):
            records.append(
                {
                    "benchmark": row.benchmark,
                    "mode": row.mode,
                    "stages": row.stages,
                    "microbatches": row.microbatches,
                    "metric": metric,
                    "stage": -1,
                    "repeat": 0,
                    "value": float(value),
                    "unit": unit,
                }
            )
    return pd.DataFrame.from_records(records, columns=list(RESULT_COLUMNS))


def straggler_sentence(stragglers: Sequence[Straggler], target: Path) -> str:
    """What the target run slowed, or that it slowed nothing (a plain reproducibility check)."""
    active = [s.describe() for s in stragglers if s.active]
    if not active:
        return (
            f"{target.name} has no straggler: this compares two runs of the same benchmarks "
            f"(target ±{TARGET:.0%})."
        )
    return (
        f"{target.name} ran with {', '.join(active)}; the same slowdown is applied to the "
        f"baseline's calibrated costs (target ±{TARGET_STRAGGLER:.0%})."
    )


def write_crosscheck(
    out: Path,
    *,
    title: str,
    baseline: Path,
    target: Path,
    rows: Sequence[ValidationRow],
    stragglers: Sequence[Straggler],
    settings: Mapping[str, object],
    command: str,
    provenance: Provenance,
) -> Path:
    """Write the crosscheck run directory ``out``; returns its report.md."""
    rundir_writer.write_results_text(out, crosscheck_frame(rows).to_csv(index=False))
    config = {
        "command": command,
        "settings": {**settings, "baseline": str(baseline), "target": str(target)},
        "stragglers": [s.describe() for s in stragglers],
        "skipped": {r.benchmark: r.skipped for r in rows if r.skipped},
        "source_fingerprints": provenance.source_fingerprints(),
    }
    rundir_writer.write_derived_config(out, CROSSCHECK, config)
    provenance.write(out)
    title_of_plot = f"Predicted from {baseline.name}\nagainst measured on {target.name}"
    agreement = plot_predicted_vs_measured(rows, out / PLOT_FILE, title_of_plot)
    blocks: list[Block] = [
        Heading(f"dnibench simulate: {title}", 1),
        Paragraph(
            f"Out-of-sample prediction: every pipeline benchmark of {target.name} is "
            f"simulated from the spans of {baseline.name} (per stage and kind, the "
            f"{settings['statistic']} duration in the steady-state window; per-action overhead "
            "from the time no span covers; link delay from blocked waits), never from the "
            "target's own spans, and nothing is fitted to any measured throughput. "
            + straggler_sentence(stragglers, target)
            + " Predicted is the median over the baseline's launches, measured the median "
            "over the target's."
        ),
        Heading("Command to reproduce"),
        Preformatted(command),
        Heading("Environment"),
        Paragraph(ENVIRONMENT_NOTE),
        provenance.table(),
        Heading("Predicted from the baseline against measured on the target"),
        Markdown(validation_markdown(list(rows))),
    ]
    if agreement is not None:
        blocks.append(
            Image(
                PLOT_FILE,
                "predicted against measured throughput",
                "One point per compared benchmark of the target run, coloured by regime; "
                "dashed: y = x; shaded: the accepted error; circled and named: outside the target.",
            )
        )
    md, _ = write_documents(out, blocks, f"dnibench simulate: {title}")
    return md
