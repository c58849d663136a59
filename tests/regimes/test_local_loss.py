"""DGL's stages: a head per stage but the last, no gradient upstream, heads' FLOPs counted."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnibench.regimes.local_loss import LocalLossStage, auxiliary_head, head_flops
from dnibench.regimes.stage import Stage


@pytest.mark.parametrize(
    ("shape", "task", "out"),
    [((16,), "classification", (4, 10)), ((8, 5, 5), "classification", (4, 10)),
     ((8, 7), "classification", (4, 10)), ((7, 16), "sequence", (4, 7, 10))],
)  # fmt: skip
def test_the_head_fits_what_the_stage_emits(shape, task, out) -> None:
    head = auxiliary_head(shape, 10, task)
    assert head(torch.randn(4, *shape)).shape == out


def test_head_flops() -> None:
    assert head_flops((16,), 10, "classification") == 2 * 16 * 10
    assert head_flops((8, 5, 5), 10, "classification") == 8 * 25 + 2 * 8 * 10
    assert head_flops((7, 16), 10, "sequence") == 2 * 7 * 16 * 10
    with pytest.raises(ValueError, match="no DGL auxiliary head"):
        auxiliary_head((2, 3, 4, 5), 10, "classification")


def test_a_stage_trains_on_its_head_and_sends_nothing_upstream() -> None:
    torch.manual_seed(0)
    module = nn.Linear(3, 4)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    stage = Stage(1, 3, module, loss_fn=nn.functional.cross_entropy, optimizer=optimizer)
    head = nn.Linear(4, 2)
    dgl = LocalLossStage(stage, head, flops=16)
    inp = torch.randn(5, 3, requires_grad=True)
    out = dgl.forward(0, inp, torch.tensor([0, 1, 0, 1, 1]))
    assert out.shape == (5, 4) and not out.requires_grad
    assert dgl.local_backward(0) is None
    assert inp.grad is None  # detached: no gradient for the stage before
    assert module.weight.grad is not None and head.weight.grad is not None
    dgl.step()
    assert module.weight.grad is None and head.weight.grad is None  # one optimiser, both
    assert dgl.report()["aux_head_flops"] == [16.0]
    with pytest.raises(ValueError, match="every stage but the last"):
        LocalLossStage(stage, None)
