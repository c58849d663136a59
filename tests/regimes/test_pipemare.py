"""PipeMare's stage: the backward runs after an in-place update, on the live weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnibench.regimes.asynchronous import AsyncRule, Versions
from dnibench.regimes.pipemare import PipeMareStage
from dnibench.regimes.stage import Stage

PLAIN = AsyncRule(Versions.UNSTASHED, update_every_microbatch=True)


def _stage(module: nn.Module, index: int = 1, stages: int = 2) -> PipeMareStage:
    stage = Stage(
        index, stages, module, loss_fn=nn.functional.cross_entropy,
        optimizer=torch.optim.SGD(module.parameters(), lr=0.5),
    )  # fmt: skip
    return PipeMareStage(stage, PLAIN, microbatches=1)


def test_input_gradient_uses_the_live_weights_and_weight_gradient_the_activation() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    stage = _stage(nn.Sequential(layer))
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    logits = nn.functional.linear(x, w0, b0).requires_grad_()
    (g,) = torch.autograd.grad(nn.functional.cross_entropy(logits, y), [logits])
    stage.forward(0, x, y)
    stage.forward(1, x, y)
    stage.backward(0)
    stage.step()  # in place, between microbatch 1's forward and its backward: no error
    w1 = layer.weight.detach().clone()
    assert not torch.equal(w0, w1)
    grad_in = stage.backward(1)
    assert grad_in is not None
    assert torch.allclose(grad_in, g @ w1) and not torch.allclose(grad_in, g @ w0)
    assert layer.weight.grad is not None
    assert torch.allclose(layer.weight.grad, g.t() @ x)
    assert stage.forward_versions == {0: 0, 1: 0}
    assert stage.backward_versions == {0: 0, 1: 1}


def test_layers_without_a_stale_weight_function_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Linear and BatchNorm layers only.*Conv2d"):
        _stage(nn.Sequential(nn.Conv2d(1, 1, 3)))
