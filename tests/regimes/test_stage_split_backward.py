"""The split backward (input half, then weight half) equals the fused backward bit for bit."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor, nn

from dnibench.models import build_model
from dnibench.optim import OptimConfig
from dnibench.regimes.stage import Stage
from dnibench.split import split_blocks

MICROBATCHES = 3


def _stages(model: str, shape: tuple[int, ...], num_stages: int) -> list[Stage]:
    torch.manual_seed(0)
    blocks = build_model(model, shape, 10, width=8, depth=3)
    size = len(blocks) // num_stages
    balance = [size] * (num_stages - 1) + [len(blocks) - size * (num_stages - 1)]
    modules = split_blocks(blocks, balance)
    return [
        Stage(k, num_stages, module, loss_fn=blocks.loss,
              optimizer=OptimConfig(name="sgd", lr=0.1).build(module))
        for k, module in enumerate(modules)
    ]  # fmt: skip


def _data(shape: tuple[int, ...], tokens: bool = False) -> list[tuple[Tensor, Tensor]]:
    generator = torch.Generator().manual_seed(1)
    if tokens:  # the gpt: windows of 10-token ids, the next token at every position
        return [
            (
                torch.randint(0, 10, (4, *shape), generator=generator),
                torch.randint(0, 10, (4, *shape), generator=generator),
            )
            for _ in range(MICROBATCHES)
        ]
    return [
        (
            torch.randn(4, *shape, generator=generator),
            torch.randint(0, 10, (4,), generator=generator),
        )
        for _ in range(MICROBATCHES)
    ]


def _train(stages: list[Stage], data: list[tuple[Tensor, Tensor]], split: bool) -> list[Tensor]:
    """Forward every microbatch, then backward them stage by stage; returns the deltas sent."""
    for mb, (x, y) in enumerate(data):
        h = x
        for stage in stages:
            h = stage.forward(mb, h, y, loss_scale=1 / MICROBATCHES, split_backward=split)
    deltas: list[Tensor] = []
    for mb in range(len(data)):
        grad = None
        for stage in reversed(stages):
            if split:
                new = stage.backward_input(mb, grad)
                assert stage.in_flight == len(data) - mb  # W still holds the microbatch
                # The fast path: W starts from per-module gradients, not from the root again.
                assert stage._flight[mb].weight_grads is not None
                stage.backward_weight(mb)
            else:
                new = stage.backward(mb, grad)
            grad = new
            if grad is not None:
                deltas.append(grad)
    return deltas


@pytest.mark.parametrize(("model", "shape"), [("mlp", (12,)), ("conv1d", (1, 16)), ("gpt", (6,))])
@pytest.mark.parametrize("num_stages", [1, 2, 3])
def test_split_backward_is_bit_equal_to_the_fused_one(
    model: str, shape: tuple[int, ...], num_stages: int
) -> None:
    """And takes the per-module path (``_train`` asserts it), the transformer's too."""
    fused, split = _stages(model, shape, num_stages), _stages(model, shape, num_stages)
    data = _data(shape, tokens=model == "gpt")
    fused_deltas = _train(fused, data, split=False)
    split_deltas = _train(split, data, split=True)
    assert len(fused_deltas) == len(split_deltas) == MICROBATCHES * (num_stages - 1)
    for a, b in zip(fused_deltas, split_deltas, strict=True):
        assert torch.equal(a, b)
    for one, two in zip(fused, split, strict=True):
        assert two.in_flight == 0
        for (name, p), q in zip(
            one.module.named_parameters(), two.module.parameters(), strict=True
        ):
            assert p.grad is not None and q.grad is not None, name
            assert torch.equal(p.grad, q.grad), name


def test_the_input_half_leaves_parameter_gradients_alone() -> None:
    (stage,) = _stages("mlp", (12,), 1)
    x, y = _data((12,))[0]
    stage.forward(0, x, y, split_backward=True)
    stage.backward_input(0)
    assert all(p.grad is None for p in stage.module.parameters())
    stage.backward_weight(0)
    assert all(p.grad is not None for p in stage.module.parameters())


def test_a_module_called_twice_takes_the_fallback_with_the_same_gradients() -> None:
    """The weight half restricted to the parameters: still exactly the fused gradients."""
    torch.manual_seed(0)
    shared = nn.Linear(6, 6)
    modules = [nn.Sequential(shared, nn.Tanh(), shared)]
    modules.append(copy.deepcopy(modules[0]))  # keeps the sharing inside the copy
    fused, split = (
        Stage(0, 2, m, loss_fn=nn.functional.mse_loss,
              optimizer=torch.optim.SGD(m.parameters(), lr=0.1))
        for m in modules
    )  # fmt: skip
    x, grad = torch.randn(3, 6), torch.randn(3, 6)
    fused.forward(0, x, x)
    fused.backward(0, grad)
    split.forward(0, x, x, split_backward=True)
    assert split.backward_input(0, grad) is None  # the first stage sends nothing up
    assert split._flight[0].weight_grads is None  # shared layer: the fallback path
    split.backward_weight(0)
    for p, q in zip(modules[0].parameters(), modules[1].parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        assert torch.equal(p.grad, q.grad)


def test_the_halves_must_come_in_order() -> None:
    (stage,) = _stages("mlp", (12,), 1)
    x, y = _data((12,))[0]
    stage.forward(0, x, y)
    with pytest.raises(RuntimeError, match="split_backward=True"):
        stage.backward_input(0)
    stage.forward(1, x, y, split_backward=True)
    with pytest.raises(RuntimeError, match="before its backward_input"):
        stage.backward_weight(1)
    stage.backward_input(1)
    with pytest.raises(RuntimeError, match="runs once"):
        stage.backward_input(1)


class _Scaled(nn.Module):
    """A module with its own parameter used before its child's: nested weight roots."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((6,), 1.5))
        self.child = nn.Linear(6, 6)

    def forward(self, x: Tensor) -> Tensor:
        return self.child(x * self.scale)


def test_nested_weight_owning_modules_get_the_fused_gradients() -> None:
    torch.manual_seed(0)
    modules = [nn.Sequential(nn.Linear(6, 6), _Scaled())]
    modules.append(copy.deepcopy(modules[0]))
    fused, split = (
        Stage(1, 3, m, loss_fn=nn.functional.mse_loss,
              optimizer=torch.optim.SGD(m.parameters(), lr=0.1))
        for m in modules
    )  # fmt: skip
    x, grad = torch.randn(3, 6), torch.randn(3, 6)
    fused.forward(0, x, x)
    fused_in = fused.backward(0, grad)
    split.forward(0, x, x, split_backward=True)
    split_in = split.backward_input(0, grad)
    assert split._flight[0].weight_grads is not None
    split.backward_weight(0)
    assert isinstance(fused_in, Tensor) and split_in is not None
    assert torch.equal(fused_in, split_in)
    for p, q in zip(modules[0].parameters(), modules[1].parameters(), strict=True):
        assert p.grad is not None and q.grad is not None
        assert torch.equal(p.grad, q.grad)
