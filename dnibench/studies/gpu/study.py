"""The GPU study: no kind of its own; it reads pipeline items that ran on streams or nccl."""

from __future__ import annotations

from pathlib import Path

from dnibench.report.section import Section
from dnibench.studies.study import Study


def _gpu(run_dir: Path) -> Section | None:
    """Streams / nccl benchmarks next to their NVML telemetry, and the GPU targets."""
    from dnibench.studies.gpu.section import gpu_section

    markdown = gpu_section(run_dir)
    return Section(markdown) if markdown is not None else None


STUDY = Study("gpu", rank=40, sections=(_gpu,))
