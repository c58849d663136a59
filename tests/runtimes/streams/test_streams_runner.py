"""A BenchSpec on the streams runtime: dispatch, rows, and the errors users can hit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dnibench.bench.run import require_gpus, run_benchmark
from dnibench.errors import UserError
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.devices import STANDIN_NOTE
from dnibench.runtimes.streams.runner import StreamsBenchResult
from dnibench.suites import load_suite
from dnibench.suites.schema import SuiteError

SpecOf = Callable[..., BenchSpec]


def test_run_benchmark_dispatches_streams_in_process_and_says_it_ran_the_stand_in(
    spec_of: SpecOf,
) -> None:
    spec = spec_of("dni", 2, microbatches=2, steps=3, keep_parameters=False)
    result = run_benchmark(spec)
    assert isinstance(result, StreamsBenchResult)
    assert result.gpus == 0 and result.placement_note == STANDIN_NOTE
    assert result.nvml_note() == STANDIN_NOTE
    rows = {(row["metric"], row["stage"]): row for row in result.rows(repeat=2)}
    assert rows[("stream_gpus", -1)]["value"] == 0.0
    assert rows[("throughput", -1)]["value"] > 0 and rows[("throughput", -1)]["repeat"] == 2
    assert ("busy_fraction", 1) in rows and ("final_loss", 1) in rows
    assert ("sg_cosine", 0) in rows  # stage 0 regressed its SG on deltas from stage 1
    assert not any(metric.startswith("gpu_") for metric, _ in rows)
    assert len(result.trace()["traceEvents"]) > 0


def test_streams_refuses_what_it_cannot_run(spec_of: SpecOf) -> None:
    with pytest.raises(UserError, match='needs one process per stage: use runtime = "dist"'):
        spec_of("torch-gpipe", 2, microbatches=2)
    with pytest.raises(UserError, match="can only inject 'raise' faults"):
        spec_of("gpipe", 2, microbatches=2, fault="kill:1:1")
    with pytest.raises(UserError, match="unknown runtime 'stream'"):
        spec_of("gpipe", 2, microbatches=2, runtime="stream")
    with pytest.raises(UserError, match="unknown device 'gpu'"):
        spec_of("gpipe", 2, microbatches=2, device="gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_device_cuda_without_a_gpu_fails_the_benchmark_with_the_way_out(spec_of: SpecOf) -> None:
    with pytest.raises(UserError, match="needs a CUDA GPU"):
        run_benchmark(spec_of("gpipe", 2, microbatches=2, device="cuda"))


def test_nccl_needs_one_gpu_per_rank() -> None:
    spec = BenchSpec(name="d", mode="gpipe", stages=2, microbatches=2, backend="nccl")
    with pytest.raises(UserError, match="needs 2 GPUs; this machine has 1"):
        require_gpus(spec, available=1)
    require_gpus(spec, available=2)
    require_gpus(spec.with_(backend="gloo"), available=0)
    require_gpus(BenchSpec(name="s", mode="single", backend="nccl"), available=1)


def _suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text('[suite]\ndescription = "t"\n\n' + body)
    return path


def test_a_suite_may_run_pipelines_on_streams(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        '[[benchmark]]\nname = "{mode}"\nkind = "pipeline"\nmode = ["gpipe", "dni"]\n'
        'runtime = "streams"\ndevice = "cpu"\nnvml = false\n',
    )
    suite = load_suite(path)
    for item in suite.items:
        assert item.runtime == "streams" and item.spec is not None
        assert (item.spec.runtime, item.spec.device, item.spec.nvml) == ("streams", "cpu", False)


def test_an_unknown_runtime_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = _suite(tmp_path, '[[benchmark]]\nname = "g"\nkind = "pipeline"\nruntime = "cuda"\n')
    with pytest.raises(SuiteError, match="allowed: 'dist', 'streams'"):
        load_suite(path)
