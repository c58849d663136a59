"""Extra report sections contributed by the kinds of benchmark a run may hold.

Each section is a function ``(run_dir) -> Section | None``: it looks at the
run's files and returns Markdown (and any plots it drew) when the run holds
what it is about, or ``None`` when it does not. ``finish_run`` calls every
registered section after a suite run and whenever ``dnibench report``
rewrites a report, so a kind of benchmark brings its own tables and figures
without the report builder knowing about it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dnibench.report.section import Section

SectionFn = Callable[[Path], Section | None]


def _pipeline_targets(run_dir: Path) -> Section | None:
    """The pipeline runtime's targets, when the run holds the pipeline grid they read."""
    from dnibench.studies.pipeline.targets import batch_sizes, load_results, targets

    frame = load_results(run_dir)
    wanted = {"gpipe-m8", "dni-m1", "sequential-m1"}
    if not wanted <= set(frame.benchmark):
        return None
    rows = [t.detail_row() for t in targets(frame, batch_sizes(run_dir))]
    lines = ["## Targets", "", "| target | measured | goal | verdict | detail |",
             "|---|---:|---:|---|---|", *rows, ""]  # fmt: skip
    return Section("\n".join(lines))


def _pipeline_verdicts(run_dir: Path) -> Section | None:
    """DNI against zero-bubble and the best exact schedule; own zb against torch's (the zero-bubble verdicts)."""
    from dnibench.studies.pipeline.verdicts import verdicts_section

    return verdicts_section(run_dir)


def _recurrent(run_dir: Path) -> Section | None:
    """Truncated BPTT against DNI: BPC curves, ratios, targets, copy lengths (rnn/copy kinds)."""
    from dnibench.studies.recurrent.report.section import rnn_section

    return rnn_section(run_dir)


def _feed_forward(run_dir: Path) -> Section | None:
    """Every regime against backprop and a last-stage-only baseline, with the paper's claims."""
    from dnibench.studies.train.section import ff_section

    return ff_section(run_dir)


def _gpu(run_dir: Path) -> Section | None:
    """Streams / nccl benchmarks next to their NVML telemetry, and the GPU targets."""
    from dnibench.studies.gpu.section import gpu_section

    markdown = gpu_section(run_dir)
    return Section(markdown) if markdown is not None else None


def _simulated(run_dir: Path) -> Section | None:
    """The simulator calibrated from each pipeline benchmark's spans, next to its measurement."""
    from dnibench.simulate.validate import validation_section

    markdown = validation_section(run_dir)
    return Section(markdown) if markdown is not None else None


def registered_sections() -> list[SectionFn]:
    """Every section function, in report order (imports kept lazy: torch-free paths stay fast)."""
    return [_pipeline_targets, _pipeline_verdicts, _recurrent, _feed_forward, _gpu, _simulated]


def extra_sections(run_dir: Path) -> list[Section]:
    """The sections that apply to ``run_dir``."""
    found = []
    for section_fn in registered_sections():
        section = section_fn(Path(run_dir))
        if section is not None:
            found.append(section)
    return found
