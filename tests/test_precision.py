"""The dtype setting reaches every layer (issue 23, point 2).

A tiny pipeline in bf16 must hold bf16 parameters, send bf16 activations and
gradients, and keep bf16 optimiser state (its own, its SG's and its SI's), in
the reference runtime and over real gloo processes; fp32 stays the default and
leaves the float32 path untouched; a suite naming an unknown dtype fails at
load with the file, the entry and the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnibench.data import BatchStream, load_dataset
from dnibench.errors import UserError
from dnibench.optim import OptimConfig
from dnibench.pipeline import build_pipeline
from dnibench.precision import DEFAULT_DTYPE, cast_input, check_dtype, dtype_name, torch_dtype
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.runtimes.spec import BenchSpec
from dnibench.suites import load_suite
from dnibench.suites.rewrites import load_suite_profile


def _spec(mode: str, **changes: object) -> BenchSpec:
    return BenchSpec(
        name=f"{mode}-dtype",
        mode=mode,
        width=16,
        depth=3,
        input_shape=(32,),
        stages=2,
        microbatches=2,
        batch_size=16,
        steps=3,
        warmup=0,
        optim=OptimConfig(name="adam", lr=1e-3),
        timeout_s=60,
        keep_parameters=True,
    ).with_(**changes)


def _reference(spec: BenchSpec) -> ReferenceRuntime:
    dataset = load_dataset(spec.data, seed=spec.seed, synthetic_shape=spec.input_shape)
    pipeline = build_pipeline(
        spec.pipeline_config,
        spec.regime,
        dataset.input_shape,
        dataset.num_classes,
        dataset.x_train[: spec.batch_size],
    )
    runtime = ReferenceRuntime(pipeline.stages, spec.regime, spec.microbatches)
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    for step in range(spec.steps):
        runtime.train_step(*stream.batch(step))
    return runtime


def _state_dtypes(optimizer: torch.optim.Optimizer) -> set[torch.dtype]:
    return {
        value.dtype
        for state in optimizer.state.values()
        for key, value in state.items()
        if isinstance(value, torch.Tensor) and key != "step"
    }


def test_the_names_map_to_torch_dtypes_and_back() -> None:
    assert torch_dtype("bf16") is torch.bfloat16
    assert torch_dtype("fp32") is torch.float32
    assert dtype_name(torch.bfloat16) == "bf16"
    assert DEFAULT_DTYPE == "fp32"
    with pytest.raises(UserError, match='write dtype = "fp32" or "bf16"'):
        check_dtype("fp16", "bench-x")


def test_inputs_are_cast_only_when_they_hold_real_numbers() -> None:
    ids = torch.arange(4)
    assert cast_input(ids, torch.bfloat16) is ids
    assert cast_input(torch.ones(2), torch.bfloat16).dtype == torch.bfloat16


def test_a_spec_refuses_an_unknown_dtype() -> None:
    with pytest.raises(UserError, match="unknown dtype 'half'"):
        _spec("gpipe", dtype="half")


@pytest.mark.parametrize("mode", ["gpipe", "cdni", "unlock"])
def test_the_reference_runtime_trains_in_bf16_end_to_end(mode: str) -> None:
    runtime = _reference(_spec(mode, dtype="bf16"))
    for stage in runtime.stages:
        assert {p.dtype for p in stage.module.parameters()} == {torch.bfloat16}
        assert _state_dtypes(stage.optimizer) == {torch.bfloat16}
        for extra in (stage.sg, stage.si):
            if extra is not None:
                assert {p.dtype for p in extra.parameters()} == {torch.bfloat16}
                assert _state_dtypes(extra.optimizer) == {torch.bfloat16}
    first = runtime.stages[0]
    sent = first.forward(10_000, torch.randn(4, 32), torch.zeros(4, dtype=torch.long))
    assert sent.dtype == torch.bfloat16  # what the first stage hands its neighbour
    if mode != "gpipe":
        assert runtime.stages[0].sg is not None  # cdni/unlock: SG regressions ran in bf16
    loss, _ = runtime.evaluate(torch.randn(8, 32), torch.zeros(8, dtype=torch.long))
    assert loss == loss  # not NaN: the evaluation path casts its inputs too


def test_fp32_stays_the_default_everywhere() -> None:
    runtime = _reference(_spec("dni"))
    for stage in runtime.stages:
        assert {p.dtype for p in stage.module.parameters()} == {torch.float32}
        assert _state_dtypes(stage.optimizer) == {torch.float32}


def test_the_dist_runtime_sends_and_trains_in_bf16() -> None:
    """Two gloo ranks end bit-equal to the bf16 reference: every message arrived whole, in bf16.

    (A bf16 message into a float32 buffer is not refused by gloo: it arrives
    as garbage, which only a comparison with the reference shows.)
    """
    from dnibench.runtimes.distributed.launch import launch_local

    for mode in ("1f1b", "dni"):
        spec = _spec(mode, dtype="bf16", optim=OptimConfig(name="sgd", lr=0.1))
        ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
        expected = [stage.module.state_dict() for stage in _reference(spec).stages]
        assert len(ranks) == len(expected) == 2
        for rank, reference in zip(ranks, expected, strict=True):
            floats = {v.dtype for v in rank.parameters.values() if v.is_floating_point()}
            assert floats == {torch.bfloat16}
            for name, value in reference.items():
                assert torch.equal(rank.parameters[name], value), f"{mode} stage {rank.rank} {name}"


def test_receive_buffers_take_the_links_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    from dnibench.runtimes.distributed import links

    posted: list[torch.Tensor] = []

    class Done:
        def is_completed(self) -> bool:
            return True

    def irecv(buffer: torch.Tensor, src: int, tag: int) -> Done:
        posted.append(buffer)
        return Done()

    monkeypatch.setattr(links.dist, "irecv", irecv)
    link = links.NeighbourLinks(1, 2, 5.0, torch.device("cpu"), torch.bfloat16)
    pending = link.recv_activation((2, 3), mb=0)
    assert pending.buffer.dtype == torch.bfloat16 and posted[0] is pending.buffer
    assert links.NeighbourLinks(1, 2, 5.0, torch.device("cpu")).dtype == torch.float32


def test_a_suite_with_a_bad_dtype_names_file_entry_and_fix(tmp_path: Path) -> None:
    suite = tmp_path / "bad.toml"
    suite.write_text(
        '[suite]\ndescription = "x"\n\n[[benchmark]]\nkind = "pipeline"\nname = "b"\n'
        'mode = "gpipe"\ndtype = "fp16"\n'
    )
    with pytest.raises(UserError) as caught:
        load_suite(suite)
    message = str(caught.value)
    assert "bad.toml" in message and "dtype" in message and "bf16" in message


def test_the_gpu_suites_default_to_bf16_and_their_cpu_profile_to_fp32() -> None:
    for name in ("gpu", "gpu-quick"):
        assert {item.spec.dtype for item in load_suite(name).items if item.spec} == {"bf16"}
    cpu = load_suite_profile("gpu-quick", "cpu")
    assert {item.spec.dtype for item in cpu.items if item.spec} == {"fp32"}
    assert {item.spec.dtype for item in load_suite("quick").items if item.spec} == {"fp32"}


def test_the_streams_runtime_stand_in_trains_bit_equal_in_bf16() -> None:
    from dnibench.runtimes.streams.runner import run_streams

    spec = _spec(
        "gpipe", dtype="bf16", runtime="streams", device="cpu", optim=OptimConfig("sgd", 0.1)
    )
    ranks = run_streams(spec).ranks
    expected = [stage.module.state_dict() for stage in _reference(spec).stages]
    for rank, reference in zip(sorted(ranks, key=lambda r: r.rank), expected, strict=True):
        for name, value in reference.items():
            assert value.dtype == torch.bfloat16 or not value.is_floating_point()
            assert torch.equal(rank.parameters[name], value), f"stage {rank.rank} {name}"
