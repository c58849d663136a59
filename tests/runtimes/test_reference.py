"""The reference runtime is the ground truth: prove it is exact and that it learns."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn
from torch.func import functional_call

from dnibench.data import BatchStream, Dataset
from dnibench.models import build_model
from dnibench.optim import OptimConfig
from dnibench.pipeline import Pipeline, PipelineConfig, build_pipeline
from dnibench.regimes.regime import get_regime
from dnibench.regimes.stage import Stage
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.train import TrainConfig, train


def _pipeline(model: str, stages: int, mode: str, shape=(64,), **kw) -> Pipeline:
    config = PipelineConfig(model=model, stages=stages, width=16, depth=3, seed=3, **kw)
    sample = torch.randn(8, *shape)
    return build_pipeline(config, get_regime(mode), shape, 10, sample)


@pytest.mark.parametrize("model", ["mlp", "conv", "lstm"])
@pytest.mark.parametrize("stages", [2, 3, 4])
@pytest.mark.parametrize("microbatches", [1, 3])
def test_split_backprop_gradients_equal_the_unsplit_model(
    model: str, stages: int, microbatches: int
) -> None:
    pipeline = _pipeline(model, stages, "backprop")
    unsplit = copy.deepcopy(pipeline.model.as_module())
    x, y = torch.randn(12, 64), torch.randint(0, 10, (12,))

    runtime = ReferenceRuntime(pipeline.stages, get_regime("backprop"), microbatches)
    loss = runtime.accumulate_gradients(x, y)

    total = torch.zeros(())
    for xi, yi in zip(x.chunk(microbatches), y.chunk(microbatches), strict=True):
        part = pipeline.model.loss(unsplit(xi), yi)
        (part / microbatches).backward()
        total += part.detach() / microbatches
    assert loss == pytest.approx(float(total), rel=1e-5)
    split_params = list(pipeline.model.as_module().parameters())
    for ours, theirs in zip(split_params, unsplit.parameters(), strict=True):
        assert ours.grad is not None
        torch.testing.assert_close(ours.grad, theirs.grad)


class OracleGradient(nn.Module):
    """Stands in for M_{k+1}: the true dL/dh_k from the downstream stages.

    Runs the downstream stages functionally on copies of their buffers so
    that BatchNorm statistics are not touched twice.
    """

    context_size = 0

    def __init__(self, downstream: list[Stage]) -> None:
        super().__init__()
        self.downstream = downstream
        self.labels: Tensor | None = None

    def predict(self, h: Tensor, context: Tensor | None = None) -> Tensor:
        h = h.detach().requires_grad_(True)
        out = h
        for stage in self.downstream:
            state = {name: p for name, p in stage.module.named_parameters()}
            state |= {name: b.clone() for name, b in stage.module.named_buffers()}
            out = functional_call(stage.module, state, (out,))
        loss = self.downstream[-1].loss_fn(out, self.labels)
        return torch.autograd.grad(loss, h)[0]

    def regress(self, h: Tensor, context: Tensor | None, delta: Tensor) -> float:
        return 0.0


class OracleInput(nn.Module):
    """Stands in for I_k: returns the real h_{k-1} the previous stage just made."""

    def __init__(self, upstream: Stage) -> None:
        super().__init__()
        self.latest: Tensor | None = None
        upstream.module.register_forward_hook(self._capture)

    def _capture(self, module: nn.Module, args: tuple, output: Tensor) -> None:
        self.latest = output.detach().clone()

    def predict(self, x: Tensor) -> Tensor:
        assert self.latest is not None
        return self.latest

    def regress(self, x: Tensor, h_real: Tensor) -> float:
        torch.testing.assert_close(h_real, self.latest)
        return 0.0


def _params(pipeline: Pipeline) -> list[Tensor]:
    return [p.detach().clone() for p in pipeline.model.as_module().parameters()]


def _run(pipeline: Pipeline, mode: str, steps: int, oracles: list[OracleGradient]) -> None:
    runtime = ReferenceRuntime(pipeline.stages, get_regime(mode), microbatches=1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x, y = torch.randn(16, 64, generator=gen), torch.randint(0, 10, (16,), generator=gen)
        for oracle in oracles:
            oracle.labels = y
        runtime.train_step(x, y)


@pytest.mark.parametrize("model", ["mlp", "conv", "lstm"])
@pytest.mark.parametrize("stages", [2, 3, 4])
def test_dni_with_an_oracle_gradient_reproduces_backprop(model: str, stages: int) -> None:
    optim = OptimConfig(name="sgd", lr=0.05)  # SGD, unlike Adam, is not scale-invariant
    backprop = _pipeline(model, stages, "backprop", optim=optim)
    dni = _pipeline(model, stages, "dni", optim=optim)
    oracles = []
    for stage in dni.stages[:-1]:
        stage.sg = OracleGradient(dni.stages[stage.index + 1 :])
        oracles.append(stage.sg)
    _run(backprop, "backprop", 5, [])
    _run(dni, "dni", 5, oracles)
    before = _params(_pipeline(model, stages, "backprop"))
    after = _params(backprop)
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    for ours, theirs in zip(_params(dni), after, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("stages", [2, 3, 4])
def test_unlock_with_an_oracle_input_reproduces_dni(stages: int) -> None:
    dni = _pipeline("mlp", stages, "dni")
    unlock = _pipeline("mlp", stages, "unlock")
    for ours, theirs in zip(dni.stages[:-1], unlock.stages[:-1], strict=True):
        theirs.sg.load_state_dict(ours.sg.state_dict())
    for stage in unlock.stages[1:]:
        stage.si = OracleInput(unlock.stages[stage.index - 1])
    _run(dni, "dni", 5, [])
    _run(unlock, "unlock", 5, [])
    for ours, theirs in zip(_params(unlock), _params(dni), strict=True):
        torch.testing.assert_close(ours, theirs)
    for ours, theirs in zip(dni.stages[:-1], unlock.stages[:-1], strict=True):
        for a, b in zip(ours.sg.parameters(), theirs.sg.parameters(), strict=True):
            torch.testing.assert_close(a, b)


def test_sg_regression_loss_falls_during_training(digits: Dataset) -> None:
    config = TrainConfig(
        data="digits", mode="dni", pipeline=PipelineConfig(stages=3), steps=300, eval_every=50
    )
    curve = train(config, digits).curve
    assert curve[-1].sg_loss < 0.5 * curve[0].sg_loss
    assert curve[-1].test_accuracy > 0.9


def test_every_microbatch_state_is_released(digits: Dataset) -> None:
    for mode in ["backprop", "dni", "cdni", "unlock"]:
        pipeline = _pipeline("mlp", 3, mode)
        runtime = ReferenceRuntime(pipeline.stages, get_regime(mode), microbatches=4)
        stream = BatchStream(digits.x_train, digits.y_train, 32, seed=0)
        for step in range(3):
            runtime.train_step(*stream.batch(step))
        assert [stage.in_flight for stage in pipeline.stages] == [0, 0, 0], mode


# Paper, MNIST, 3-layer FCN: backprop 2.0% error, DNI 1.9%, cDNI 2.2%.
ACCURACY_BUDGET = {"steps": 600, "batch_size": 64}


@pytest.fixture(scope="module")
def accuracy_by_mode(digits: Dataset) -> dict[str, float]:
    results = {}
    for mode in ["backprop", "dni", "cdni", "unlock"]:
        config = TrainConfig(
            data="digits",
            mode=mode,
            pipeline=PipelineConfig(model="mlp", stages=3, seed=0),
            eval_every=ACCURACY_BUDGET["steps"],
            **ACCURACY_BUDGET,
        )
        results[mode] = train(config, digits).final.test_accuracy
    print(f"digits test accuracy, 3 stages, {ACCURACY_BUDGET}: {results}")
    return results


def test_backprop_learns_digits(accuracy_by_mode: dict[str, float]) -> None:
    assert accuracy_by_mode["backprop"] > 0.95


@pytest.mark.parametrize("mode", ["dni", "cdni"])
def test_dni_matches_backprop_within_two_points(
    accuracy_by_mode: dict[str, float], mode: str
) -> None:
    assert accuracy_by_mode[mode] >= accuracy_by_mode["backprop"] - 0.02


def test_complete_unlock_within_five_points(accuracy_by_mode: dict[str, float]) -> None:
    assert accuracy_by_mode["unlock"] >= accuracy_by_mode["backprop"] - 0.05


def test_untrained_model_is_near_chance(digits: Dataset) -> None:
    torch.manual_seed(0)
    model = build_model("mlp", digits.input_shape, 10).as_module().eval()
    with torch.no_grad():
        accuracy = (model(digits.x_test).argmax(1) == digits.y_test).float().mean()
    assert accuracy < 0.3
