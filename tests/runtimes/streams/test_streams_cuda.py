"""The CUDA paths end to end: streams on a GPU, dist on nccl, NVML. Skipped without a GPU."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dnibench.bench.run import run_benchmark
from dnibench.instrument import NvmlSampler
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.cuda import CudaStream, CudaTimebase
from dnibench.runtimes.streams.runner import run_streams

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SpecOf = Callable[..., BenchSpec]
ReferenceOf = Callable[[BenchSpec], list[dict[str, torch.Tensor]]]
# Same math on another device: reductions may differ in order, so not bit-equal.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def _assert_close(parameters: list[dict[str, torch.Tensor]], expected) -> None:
    assert len(parameters) == len(expected)
    for k, (got, reference) in enumerate(zip(parameters, expected, strict=True)):
        for name, value in reference.items():
            torch.testing.assert_close(got[name], value, **TOLERANCE, msg=f"stage {k} {name}")


def test_a_cuda_stream_waits_for_the_event_of_the_stream_that_made_a_tensor() -> None:
    device = torch.device("cuda", torch.cuda.current_device())
    producer, consumer = CudaStream("p", device), CudaStream("c", device)
    timebase = CudaTimebase([device.index])
    with producer.activate():
        a = torch.randn(2048, 2048, device=device)
        for _ in range(20):  # long enough that an unordered read would see a stale value
            a = a @ a / a.norm()
        made = a.sum() * 0 + 1.0
        event = producer.record()
    with consumer.activate():
        start = consumer.record()
        consumer.wait(event)
        consumer.adopt(made)
        used = made + 1.0
        end = consumer.record()
    consumer.synchronize()
    assert float(used) == 2.0
    assert timebase.ns(start) <= timebase.ns(end)
    assert timebase.ns(event) <= timebase.ns(end)  # the consumer's work ended after the producer


@pytest.mark.parametrize("mode", ["gpipe", "1f1b", "zb", "dni", "unlock"])
def test_streams_on_cuda_match_the_reference(
    mode: str, spec_of: SpecOf, reference_of: ReferenceOf
) -> None:
    spec = spec_of(mode, 2, microbatches=2, device="cuda")
    result = run_streams(spec)
    assert result.gpus >= 1
    _assert_close([r.parameters for r in result.ranks], reference_of(spec))


def test_streams_on_cuda_report_gpu_rows(spec_of: SpecOf) -> None:
    spec = spec_of("dni", 2, microbatches=2, steps=4, device="cuda", keep_parameters=False)
    result = run_benchmark(spec)
    metrics = {row["metric"] for row in result.rows()}
    assert "stream_gpus" in metrics and "cuda_memory_peak" in metrics
    if not result.nvml_note():  # NVML present: its rows are there too
        assert {"gpu_utilisation", "gpu_power", "nvml_overhead"} <= metrics


def test_dist_on_nccl_single_rank_matches_the_reference(
    spec_of: SpecOf, reference_of: ReferenceOf
) -> None:
    spec = spec_of("single", 1, microbatches=2).with_(runtime="dist", backend="nccl")
    ranks = launch_local(spec, deadline_s=240)
    _assert_close([r.parameters for r in sorted(ranks, key=lambda r: r.rank)], reference_of(spec))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="nccl needs one GPU per rank")
@pytest.mark.parametrize("mode", ["gpipe", "dni"])
def test_dist_on_nccl_two_ranks_matches_the_reference(
    mode: str, spec_of: SpecOf, reference_of: ReferenceOf
) -> None:
    spec = spec_of(mode, 2, microbatches=2).with_(runtime="dist", backend="nccl")
    ranks = launch_local(spec, deadline_s=240)
    _assert_close([r.parameters for r in sorted(ranks, key=lambda r: r.rank)], reference_of(spec))


def test_nvml_sampler_returns_real_samples() -> None:
    sampler = NvmlSampler(device_index=torch.cuda.current_device(), interval_s=0.02)
    if not sampler.available:
        pytest.skip(f"GPU present but NVML unusable: {sampler.reason}")
    sampler.start()
    a = torch.randn(4096, 4096, device="cuda")
    for _ in range(50):
        a = a @ a / a.norm()
    torch.cuda.synchronize()
    summary = sampler.stop()
    sampler.close()
    assert summary["available"] and summary["samples"] >= 2
    assert summary["util_max_pct"] is not None and 0 <= summary["util_max_pct"] <= 100
    assert summary["memory_used_max_bytes"] and summary["memory_used_max_bytes"] > 0
    assert summary["energy_j"] is None or summary["energy_j"] >= 0
    assert 0 <= summary["overhead_fraction"] < 1
