"""The dist runtime over real gloo process groups trains (its bit-for-bit equivalence with
the reference runtime is tests/runtimes/test_runtime_equivalence.py, shared with streams)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from dnibench.optim import OptimConfig
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.spec import BenchSpec

SpecOf = Callable[..., BenchSpec]
ReferenceOf = Callable[[BenchSpec], list[dict[str, torch.Tensor]]]


def test_a_dist_run_actually_trains(spec_of: SpecOf, reference_of: ReferenceOf) -> None:
    spec = spec_of("gpipe", 2, microbatches=2)
    initial = reference_of(spec.with_(steps=1, optim=OptimConfig(name="sgd", lr=1e-12)))
    ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
    moved = [
        not torch.allclose(ranks[k].parameters[name], value)
        for k in range(2)
        for name, value in initial[k].items()
        if name.endswith("weight")
    ]
    assert all(moved)
