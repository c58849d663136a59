"""The pipeline study: its kind (one stage-split pipeline on dist or streams) and sections.

Sections: the runtime targets (:mod:`targets`) when the run holds the
pipeline grid they read, the zero-bubble verdicts (:mod:`verdicts`) and the
asynchronous modes against dni and the exact schedules (:mod:`async_modes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnibench.data import TOKEN_DATA
from dnibench.report.hooks import ReportHooks
from dnibench.report.section import Section
from dnibench.studies.item import PIPELINE, Item
from dnibench.studies.kind import BenchmarkKind
from dnibench.studies.pipeline.keys import PIPELINE_KEYS, build_pipeline
from dnibench.studies.study import Study

if TYPE_CHECKING:
    from dnibench.bench.run import BenchResult
    from dnibench.rundir.reader import RunData


def _build(item: Item, values: Mapping[str, Any]) -> Item:
    return replace(item, spec=build_pipeline(item.name, item.runtime, values))


def _compute(item: Item, repeat: int, deadline_s: float | None) -> BenchResult:
    from dnibench.bench.run import run_benchmark

    spec = item.spec
    assert spec is not None, f"pipeline benchmark {item.name} has no spec"
    if spec.name != item.name:
        spec = spec.with_(name=item.name)
    return run_benchmark(spec, deadline_s=deadline_s)


def _record(out: Path, item: Item, result: BenchResult, repeat: int, repeats: int) -> None:
    from dnibench.data.lm_windows import corpus_provenance
    from dnibench.rundir import writer
    from dnibench.studies.pipeline.flop_budget import flop_rows

    name = item.name if repeats == 1 else f"{item.name}-r{repeat}"
    if writer.keeps_trace(out, repeat):  # the first launch, or every one with --all-traces
        writer.write_trace(out, name, result.trace(), launch=repeat)
    spec = item.spec
    if spec is not None and spec.data in TOKEN_DATA:  # which text: check/compare refuse a mix
        writer.write_corpus(out, item.name, corpus_provenance(spec.data, spec.text_path))
    # Rows last: a run whose trace cannot be written fails without rows in results.csv.
    writer.append_results(out, result.rows(repeat) + flop_rows(result.spec, repeat))


def _pipeline_line(result: BenchResult) -> str:
    m = result.metrics
    return f"{m.throughput:8.0f} samples/s  efficiency {m.efficiency:.3f}"


def _figures(result: BenchResult) -> dict[str, float]:
    m = result.metrics
    return {"throughput": m.throughput, "pipeline_efficiency": m.efficiency}


def _pipeline_targets(run_dir: Path) -> Section | None:
    """The pipeline runtime's targets, when the run holds the pipeline grid they read."""
    from dnibench.studies.pipeline.targets import batch_sizes, load_results, targets

    frame = load_results(run_dir)
    wanted = {"gpipe-m8", "dni-m1", "sequential-m1"}
    if not wanted <= set(frame.benchmark):
        return None
    found = targets(frame, batch_sizes(run_dir))
    lines = ["## Targets", "",
             "Ratios of two benchmarks carry an interval over launches in brackets (paired "
             "launch by launch where the session interleaved them, else bootstrapped); their "
             "verdict is met only when the whole interval clears the goal.", "",
             "| target | measured | goal | verdict | detail |",
             "|---|---:|---:|---|---|", *(t.detail_row() for t in found), ""]  # fmt: skip
    return Section("\n".join(lines), verdicts=tuple(t.record("pipeline") for t in found))


def _pipeline_verdicts(run_dir: Path) -> Section | None:
    """DNI against zero-bubble and the best exact schedule; own zb against torch's."""
    from dnibench.studies.pipeline.verdicts import verdicts_section

    return verdicts_section(run_dir)


def _async_modes(run_dir: Path) -> Section | None:
    """The asynchronous modes against dni and the best exact schedule, with their stash."""
    from dnibench.studies.pipeline.async_modes import async_section

    return async_section(run_dir)


def _mfu(run_dir: Path) -> Section | None:
    """Tokens/s, MFU and HFU against the measured peak, and the MFU gap split."""
    from dnibench.studies.pipeline.mfu import mfu_section

    return mfu_section(run_dir)


def _straggler(run_dir: Path) -> Section | None:
    """The straggler knob checked on a slowed benchmark and its plain twin, when the run has one."""
    from dnibench.studies.pipeline.straggler_check import straggler_section

    markdown = straggler_section(run_dir)
    return None if markdown is None else Section(markdown)


def _hardware_limit(run: RunData, bench: str) -> float:
    from dnibench.studies.pipeline.hardware_limit import hardware_limit_efficiency

    return hardware_limit_efficiency(run, bench)


def _timeline(run: RunData, out_dir: Path | None) -> Path | None:
    from dnibench.studies.pipeline.timeline import plot_timeline

    return plot_timeline(run, out_dir)


KIND: BenchmarkKind[BenchResult] = BenchmarkKind(
    PIPELINE,
    runtimes=("dist", "streams"),
    keys=PIPELINE_KEYS,
    build=_build,
    body=lambda item: item.spec,
    compute=_compute,
    record=_record,
    progress=_pipeline_line,
    figures=_figures,
    pipeline=True,
)

STUDY = Study(
    "pipeline",
    rank=10,
    kinds=(KIND,),
    sections=(_pipeline_targets, _pipeline_verdicts, _async_modes, _mfu, _straggler),
    hooks=ReportHooks(hardware_limit=_hardware_limit, plots={"timeline": _timeline}),
)
