"""PipeMare's stage: the backward runs after an in-place update, on the live weights."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn
from torch.nn import grad as conv_grad

from dnibench.models.gpt import Embeddings, TransformerBlock
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
    with pytest.raises(ValueError, match=r"Linear, Conv1d, .* layers only.*Conv3d"):
        _stage(nn.Sequential(nn.Conv3d(1, 1, 3)))
    with pytest.raises(ValueError, match=r"Conv2d with parameters \(or in a form not covered"):
        _stage(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")))
    with pytest.raises(ValueError, match="Embedding"):
        _stage(nn.Sequential(nn.Embedding(5, 2, max_norm=1.0)), index=0)


def _no_update_gradients(module: nn.Module, x: Tensor, first: bool) -> None:
    """With no update between forward and backward, the stale-weight functions give
    autograd's own output and input gradient, and its weight gradients (to rounding)."""
    twin = copy.deepcopy(module)
    stage = _stage(module, index=0 if first else 1, stages=3)
    out = stage.forward(0, x, torch.zeros(0))
    grad = torch.randn_like(out)
    grad_in = stage.backward(0, grad)
    x_twin = x if first else x.detach().requires_grad_()
    out_twin = twin(x_twin)
    out_twin.backward(grad)
    assert torch.equal(out, out_twin.detach())
    assert grad_in is None if first else torch.allclose(grad_in, x_twin.grad)  # type: ignore[arg-type]
    for (name, param), other in zip(module.named_parameters(), twin.parameters(), strict=True):
        assert param.grad is not None, name
        torch.testing.assert_close(param.grad, other.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (lambda: nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU()), (2, 3, 9, 9)),
        (lambda: nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2, bias=False), (2, 4, 7, 7)),
        (
            lambda: nn.Sequential(nn.Conv1d(3, 6, 5, padding=2, groups=3), nn.BatchNorm1d(6)),
            (2, 3, 12),
        ),
        (lambda: nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 8)), (2, 5, 8)),
        (lambda: TransformerBlock(16, 2), (2, 5, 16)),
    ],
)
def test_conv_norm_and_attention_layers_match_autograd_without_an_update(
    module: Callable[[], nn.Module], shape: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    _no_update_gradients(module(), torch.randn(shape), first=False)


def test_embeddings_get_a_weight_gradient_and_send_none() -> None:
    torch.manual_seed(0)
    ids = torch.randint(0, 11, (2, 5))
    _no_update_gradients(nn.Sequential(Embeddings(11, 5, 16), TransformerBlock(16, 2)), ids, True)
    _no_update_gradients(nn.Sequential(nn.Embedding(11, 4, padding_idx=0)), ids, True)


def test_a_convolution_input_gradient_uses_the_live_weights() -> None:
    torch.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    stage = _stage(nn.Sequential(layer), index=1, stages=3)
    x = torch.randn(2, 2, 6, 6)
    stage.forward(0, x, torch.zeros(0))
    stage.forward(1, x, torch.zeros(0))
    grad = torch.randn(2, 3, 3, 3)
    stage.backward(0, grad)
    stage.step()
    w1 = layer.weight.detach().clone()
    grad_in = stage.backward(1, grad)
    x_leaf = x.clone().requires_grad_()
    nn.functional.conv2d(x_leaf, w1, None, 2, 1).backward(grad)
    assert grad_in is not None and torch.allclose(grad_in, x_leaf.grad)  # type: ignore[arg-type]
    assert layer.weight.grad is not None
    assert torch.allclose(layer.weight.grad, conv_grad.conv2d_weight(x, w1.shape, grad, 2, 1))
