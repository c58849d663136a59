"""The time-to-quality study: its kind (a pipeline trained to a target) and its section."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnibench.report.section import Section
from dnibench.studies.item import Item
from dnibench.studies.kind import BenchmarkKind
from dnibench.studies.study import Study
from dnibench.studies.ttq.keys import TTQ, TTQ_KEYS, TTQConfig, build_ttq, ttq_body

if TYPE_CHECKING:
    from dnibench.studies.ttq.run import TTQResult


def _build(item: Item, values: Mapping[str, Any]) -> Item:
    return build_ttq(item, values)


def _compute(item: Item, repeat: int, deadline_s: float | None) -> TTQResult:
    from dnibench.studies.ttq.run import run_ttq

    config = ttq_body(item)
    spec = config.spec
    if spec.name != item.name:
        spec = spec.with_(name=item.name)
    return run_ttq(spec, repeat, deadline_s, config.held_out)


def _record(out: Path, item: Item, result: TTQResult, repeat: int, repeats: int) -> None:
    from dnibench.rundir import writer
    from dnibench.studies.ttq.run import curve_rows, ttq_rows

    config: TTQConfig = ttq_body(item)
    writer.append_curves(out, curve_rows(item.name, result, repeat))
    writer.append_results(out, ttq_rows(config, result, repeat))


def _progress(result: TTQResult) -> str:
    return f"best held-out accuracy {result.best:.4f} (seed {result.seed})"


def _figures(result: TTQResult) -> dict[str, float]:
    return {"throughput": result.bench.metrics.throughput, "best_test_accuracy": result.best}


def _time_to_quality(run_dir: Path) -> Section | None:
    """Each regime timed to one target quality on the pipeline, with verdicts and residuals."""
    from dnibench.studies.ttq.section import ttq_section

    return ttq_section(run_dir)


KIND: BenchmarkKind[TTQResult] = BenchmarkKind(
    TTQ,
    runtimes=("dist", "streams"),
    keys=TTQ_KEYS,
    build=_build,
    body=ttq_body,
    compute=_compute,
    record=_record,
    progress=_progress,
    figures=_figures,
)

STUDY = Study("ttq", rank=35, kinds=(KIND,), sections=(_time_to_quality,))
