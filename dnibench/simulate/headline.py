"""The run report's simulator section: the out-of-sample headline, then the in-sample check.

The headline is out of sample (:mod:`out_of_sample`: each benchmark
predicted from the same regime at another m of the run); agreement of a
benchmark with a simulation calibrated from its own launches
(:mod:`validate`) follows as a consistency check only. Both also come back
as verdict records, so the report's findings and its verdicts file carry
them.
"""

from __future__ import annotations

import math
from pathlib import Path

from dnibench.errors import UserError
from dnibench.report.findings import VerdictRecord
from dnibench.rundir import reader
from dnibench.simulate.out_of_sample import OUT_OF_SAMPLE_TARGET, out_of_sample_rows
from dnibench.simulate.validate import (
    JUDGED,
    TARGET,
    ValidationRow,
    validate_run,
    validation_markdown,
)
from dnibench.stats import Verdict

__all__ = ["headline_record", "simulator_section"]

STUDY = "simulator"

_HEADLINE_NOTE = (
    "Out of sample: each benchmark is predicted from the spans of the same regime at the "
    "nearest other m of this run (ties to the larger m), never from its own. Per-microbatch "
    "compute (forward, backward, SG and SI) is scaled by the ratio of microbatch sizes; the "
    "optimiser step, sends, per-action overhead and the link delay are kept as measured. "
    "Nothing is fitted to any measured throughput. Target: within "
    f"{OUT_OF_SAMPLE_TARGET:.0%}, fixed before the runs were read. This is the simulator's "
    "headline agreement; a miss here says that compute per microbatch is not proportional to "
    "its samples over that range of m, or that overhead depends on m."
)
_CHECK_NOTE = (
    "Consistency check, in sample: each launch's own spans calibrate the simulator (per stage "
    "and kind, the mean duration in the steady-state window; per-action overhead from the time "
    "no span covers; link delay from blocked waits), which then runs the benchmark's own "
    "schedule; predicted is the median over launches, as measured is. This shows the simulator "
    "reproduces what it was fed, not that it predicts. Target: within "
    f"{TARGET:.0%} (15% with a straggler stage)."
)


def headline_record(claim: str, rows: list[ValidationRow], goal: float) -> VerdictRecord:
    """One verdict over rows: met when every judged row is within ``goal``, else missed."""
    judged = [r for r in rows if r.verdict in JUDGED]
    if not judged:
        return VerdictRecord(STUDY, claim, str(Verdict.NOT_MEASURED), goal=goal, better="<=")
    worst = max(judged, key=lambda r: abs(r.error))
    within = sum(r.verdict == Verdict.MET for r in judged)
    word = Verdict.MET if within == len(judged) else Verdict.MISSED
    return VerdictRecord(
        STUDY,
        f"{claim}: {within} of {len(judged)} within ±{goal:.0%}, largest |error| "
        f"({worst.benchmark})",
        str(word),
        abs(worst.error),
        method="point",
        n=len(judged),
        goal=goal,
        better="<=",
    )


def simulator_section(run_dir: Path | str) -> tuple[str, tuple[VerdictRecord, ...]] | None:
    """Markdown and verdicts of "Simulated vs measured", or None without traces to simulate."""
    run_dir = Path(run_dir)
    if not reader.has_config(run_dir) or not reader.has_traces(run_dir):
        return None
    try:
        in_sample = validate_run(run_dir)
        outside = out_of_sample_rows(run_dir)
    except UserError as err:
        return f"## Simulated vs measured\n\nNot simulated: {err}\n", ()
    if not any(r.verdict in JUDGED for r in in_sample):
        return None
    records = []
    parts = ["## Simulated vs measured", ""]
    if outside:
        records.append(
            headline_record("simulator out of sample (another m)", outside, OUT_OF_SAMPLE_TARGET)
        )
        parts += [
            "### Out of sample: predicted from another m",
            "",
            _HEADLINE_NOTE,
            "",
            validation_markdown(outside),
            "",
        ]
    else:
        parts += [
            "No benchmark of this run has its regime measured at another m, so no "
            "out-of-sample prediction is made here; see a cross-check report (`dnibench "
            "simulate --from RUN --predict OTHER_RUN`) for one.",
            "",
        ]
    records.append(headline_record("simulator in sample (consistency check)", in_sample, TARGET))
    parts += [
        "### Consistency check: calibrated from each benchmark's own launches",
        "",
        _CHECK_NOTE,
        "",
        validation_markdown(in_sample),
        "",
    ]
    return "\n".join(parts), tuple(r for r in records if not math.isnan(r.goal))
