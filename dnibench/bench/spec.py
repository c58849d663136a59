"""The benchmark spec under its old name; it lives in :mod:`dnibench.runtimes.spec`.

The spec is what a runtime runs, so it lives below the runtimes
(``bench > runtimes``: a runtime never imports ``bench``); this module keeps
the name ``dnibench.bench.spec`` working for the modules above that import it.
"""

from __future__ import annotations

from dnibench.runtimes.spec import (
    BENCH_MODES,
    FAULT_KINDS,
    OWN_MODES,
    PEER_MODES,
    RUNTIMES,
    SINGLE_MODE,
    STREAMS_DEVICES,
    BenchSpec,
    parse_fault,
)

__all__ = [
    "BENCH_MODES", "FAULT_KINDS", "OWN_MODES", "PEER_MODES", "RUNTIMES", "SINGLE_MODE",
    "STREAMS_DEVICES", "BenchSpec", "parse_fault",
]  # fmt: skip
