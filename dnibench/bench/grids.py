"""The pipeline benchmark's base model, and its grid as code.

``suites/pipeline.toml`` is how the grid is run; this module keeps the base
spec that ``dnibench bench`` builds on, and the same grid in code so a test
can hold the suite file to it.

``pipeline``: the throughput grid of the runtime issue on a 2-stage pipeline,
one thread per rank: the single-process baselines (1 thread, all cores),
dnibench's ``sequential`` / ``gpipe`` / ``1f1b``, PyTorch's ``torch-gpipe`` /
``torch-1f1b``, and the unlocked ``dni`` / ``cdni`` / ``unlock``, each at 1 and
8 microbatches, plus ``gpipe`` and ``dni`` at 8 with spans off (each right
after its twin) to measure the instrumentation's own cost.
"""

from __future__ import annotations

import os

from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig
from dnibench.runtimes.spec import PEER_MODES, SINGLE_MODE, BenchSpec

# A model whose two stages cost the same: four 1024-wide hidden layers and a
# cheap classifier, split 2 | 2+classifier; batch 256 so 8 microbatches of 32
# still keep each stage busy for milliseconds per microbatch.
PIPELINE_BASE = BenchSpec(
    name="base",
    mode="gpipe",
    model="mlp",
    width=1024,
    depth=4,
    input_shape=(1024,),
    stages=2,
    balance=(2, 3),
    batch_size=256,
    steps=30,
    warmup=5,
    threads=1,
    staleness=4,
    sg=SGConfig(hidden=0, width=64),  # a low-rank SG: cheap next to a 1024x1024 layer
    si=SIConfig(hidden=1, width=64),  # likewise a narrow SI
)

PIPELINE_MODES = (
    "single-1t", "single-all", "sequential", "gpipe", "1f1b",
    "torch-gpipe", "torch-1f1b", "dni", "cdni", "unlock",
)  # fmt: skip


def _pipeline_spec(mode: str, microbatches: int) -> BenchSpec:
    name = f"{mode}-m{microbatches}"
    if mode.startswith("single"):
        threads = 1 if mode == "single-1t" else (os.cpu_count() or 1)
        return PIPELINE_BASE.with_(
            name=name, mode=SINGLE_MODE, microbatches=microbatches, threads=threads
        )
    return PIPELINE_BASE.with_(name=name, mode=mode, microbatches=microbatches)


def pipeline_grid() -> tuple[list[BenchSpec], list[tuple[str, str]]]:
    """The pipeline grid, and (name, reason) for combinations that cannot run."""
    specs: list[BenchSpec] = []
    skipped: list[tuple[str, str]] = []
    for microbatches in (1, 8):
        for mode in PIPELINE_MODES:
            if mode in PEER_MODES and microbatches < PIPELINE_BASE.stages:
                skipped.append(
                    (f"{mode}-m{microbatches}", "torch.distributed.pipelining needs m >= stages")
                )
                continue
            spec = _pipeline_spec(mode, microbatches)
            specs.append(spec)
            if mode in ("gpipe", "dni") and microbatches == 8:
                # The spans-off twin runs right after its twin, so drift hits both alike.
                specs.append(spec.with_(name=f"{spec.name}-nospans", spans=False))
    return specs, skipped


__all__ = ["PIPELINE_BASE", "pipeline_grid"]
