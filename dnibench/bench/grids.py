"""The pipeline benchmark's base model, and its grid as code.

``suites/pipeline.toml`` is how the grid is run; this module keeps the base
spec that ``dnibench bench`` builds on, and the same grid in code so a test
can hold the suite file to it.

``pipeline``: the throughput grid of issue 16 on 2 ranks, one thread each, at
1, 4 and 8 microbatches: dnibench's ``1f1b`` and zero-bubble ``zb``, PyTorch's
zero-bubble, interleaved and V schedules as peers (1F1B and DualPipeV at 4 and 8
only: they refuse fewer microbatches than stages), the unlocked ``dni`` /
``cdni`` / ``unlock``, the single-process baselines (1 thread, all cores) that
the hardware-limit efficiency divides by, ``gpipe`` / ``torch-gpipe`` /
``sequential`` for the runtime targets, and ``gpipe`` and ``dni`` at 8 with
spans off to measure the instrumentation's own cost.
"""

from __future__ import annotations

import os

from dnibench.modes import (
    CDNI,
    DNI,
    GPIPE,
    ONE_F_ONE_B,
    SEQUENTIAL,
    SINGLE,
    TORCH_1F1B,
    TORCH_DUALPIPEV,
    TORCH_GPIPE,
    TORCH_INTERLEAVED_1F1B,
    TORCH_INTERLEAVED_ZB,
    TORCH_LOOPED_BFS,
    TORCH_ZB,
    TORCH_ZBV,
    UNLOCK,
    ZB,
)
from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig
from dnibench.runtimes.spec import BenchSpec

# A model whose two stages cost the same: four 1024-wide hidden layers and a
# cheap classifier, split 2 | 2+classifier; batch 256 so 8 microbatches of 32
# still keep each stage busy for milliseconds per microbatch.
PIPELINE_BASE = BenchSpec(
    name="base",
    mode=GPIPE.name,
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

#: ``single-1t`` / ``single-all``: the single mode on one thread / on every core.
_1T, _ALL = f"{SINGLE.name}-1t", f"{SINGLE.name}-all"
_EVERY_M = (ONE_F_ONE_B, DNI, CDNI, UNLOCK, TORCH_INTERLEAVED_ZB, TORCH_ZBV)
_AT_8 = (GPIPE, TORCH_GPIPE, TORCH_INTERLEAVED_1F1B, TORCH_LOOPED_BFS)
#: (modes, microbatches, repeats) blocks of the grid, in suite order.
PIPELINE_BLOCKS: tuple[tuple[tuple[str, ...], tuple[int, ...], int | None], ...] = (
    (tuple(mode.name for mode in _EVERY_M), (1, 4, 8), None),
    ((ZB.name, TORCH_ZB.name), (1, 4, 8), 5),
    ((TORCH_1F1B.name, TORCH_DUALPIPEV.name), (4, 8), None),
    (tuple(mode.name for mode in _AT_8), (8,), None),
    ((SEQUENTIAL.name,), (1,), None),
    ((_1T,), (1, 4, 8), None),
    ((_ALL,), (1, 4, 8), None),
)  # fmt: skip


def _pipeline_spec(mode: str, microbatches: int) -> BenchSpec:
    name = f"{mode}-m{microbatches}"
    if mode in (_1T, _ALL):
        threads = 1 if mode == _1T else (os.cpu_count() or 1)
        return PIPELINE_BASE.with_(
            name=name, mode=SINGLE.name, microbatches=microbatches, threads=threads
        )
    return PIPELINE_BASE.with_(name=name, mode=mode, microbatches=microbatches)


def pipeline_grid() -> tuple[list[BenchSpec], dict[str, int]]:
    """The pipeline grid, and the benchmarks that run more repeats than the suite's 3.

    Microbatch counts vary slowest within a block, as in the suite file; the
    spans-off twins of gpipe-m8 and dni-m8 close the grid.
    """
    specs: list[BenchSpec] = []
    repeats: dict[str, int] = {}
    for modes, counts, times in PIPELINE_BLOCKS:
        for microbatches in counts:
            for mode in modes:
                spec = _pipeline_spec(mode, microbatches)
                specs.append(spec)
                if times is not None:
                    repeats[spec.name] = times
    for mode in (GPIPE.name, DNI.name):
        spec = _pipeline_spec(mode, 8)
        specs.append(spec.with_(name=f"{spec.name}-nospans", spans=False))
    return specs, repeats


__all__ = ["PIPELINE_BASE", "pipeline_grid"]
