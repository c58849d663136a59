"""The pipeline benchmark's base model, and its grid as code.

``suites/pipeline.toml`` is how the grid is run; this module keeps the base
spec that ``dnibench bench`` builds on, and the same grid in code so a test
can hold the suite file to it.

``pipeline``: the zero-bubble throughput grid on 2 ranks, one thread each, at
1, 4 and 8 microbatches: dnibench's ``1f1b`` and zero-bubble ``zb``, PyTorch's
zero-bubble, interleaved and V schedules as peers, the unlocked ``dni`` /
``cdni`` / ``unlock``, the single-process baselines (1 thread, all cores) that
the hardware-limit efficiency divides by, ``gpipe`` / ``torch-gpipe`` /
``sequential`` for the runtime targets, and ``gpipe`` and ``dni`` at 8 with
spans off to measure the instrumentation's own cost.
"""

from __future__ import annotations

import os

from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig
from dnibench.runtimes.spec import SINGLE_MODE, BenchSpec

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

#: (modes, microbatches, repeats) blocks of the grid, in suite order.
PIPELINE_BLOCKS: tuple[tuple[tuple[str, ...], tuple[int, ...], int | None], ...] = (
    (("1f1b", "dni", "cdni", "unlock", "torch-interleaved-zb", "torch-zbv", "torch-dualpipev"),
     (1, 4, 8), None),
    (("zb", "torch-zb"), (1, 4, 8), 5),
    (("torch-1f1b",), (4, 8), None),
    (("gpipe", "torch-gpipe", "torch-interleaved-1f1b", "torch-looped-bfs"), (8,), None),
    (("sequential",), (1,), None),
    (("single-1t",), (1, 4, 8), None),
    (("single-all",), (1, 4, 8), None),
)  # fmt: skip


def _pipeline_spec(mode: str, microbatches: int) -> BenchSpec:
    name = f"{mode}-m{microbatches}"
    if mode.startswith("single"):
        threads = 1 if mode == "single-1t" else (os.cpu_count() or 1)
        return PIPELINE_BASE.with_(
            name=name, mode=SINGLE_MODE, microbatches=microbatches, threads=threads
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
    for mode in ("gpipe", "dni"):
        spec = _pipeline_spec(mode, 8)
        specs.append(spec.with_(name=f"{spec.name}-nospans", spans=False))
    return specs, repeats


__all__ = ["PIPELINE_BASE", "pipeline_grid"]
