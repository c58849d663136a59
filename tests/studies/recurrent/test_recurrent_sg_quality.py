"""The SG-quality probe: 1 for the discounted true gradient, near 0 for a random one."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from dnibench.studies.recurrent.core import LSTMCore
from dnibench.studies.recurrent.sg_quality import (
    WARMUP,
    horizon_chunks,
    probe_windows,
    sg_quality,
)

VOCAB, WIDTH, T = 6, 8, 8


def setup() -> tuple[LSTMCore, torch.Tensor]:
    torch.manual_seed(0)
    core = LSTMCore(VOCAB, VOCAB, WIDTH)
    ids = torch.randint(0, VOCAB, (3000,))
    return core, ids


def discounted_gradient_chunk_by_chunk(
    core: LSTMCore, ids: torch.Tensor, scale: float, windows: int = 64
) -> torch.Tensor:
    """The like-for-like true gradient, written independently: one chunk at a time."""
    chunks = horizon_chunks(T)
    rows = probe_windows(ids, WARMUP + chunks * T + 1, windows)
    with torch.no_grad():
        _, reached = core(rows[:, :WARMUP], None)
    start = core.join(reached).detach().requires_grad_(True)
    state, total = core.split(start), torch.zeros(())
    for k in range(chunks):
        lo = WARMUP + k * T
        logits, state = core(rows[:, lo : lo + T], state)
        targets = rows[:, lo + 1 : lo + T + 1]
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="sum")
        total = total + scale**k * loss
    (grad,) = torch.autograd.grad(total, start)
    return grad


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0])
def test_the_discounted_true_gradient_scores_a_cosine_of_one(scale: float) -> None:
    core, ids = setup()
    oracle = discounted_gradient_chunk_by_chunk(core, ids, scale)
    quality = sg_quality(core, lambda state: oracle, ids, T, scale)
    assert quality.cosine == pytest.approx(1.0, abs=1e-5)
    assert quality.relative_error == pytest.approx(0.0, abs=1e-4)
    assert quality.norm_ratio == pytest.approx(1.0, abs=1e-5)
    # the oracle stands for every chunk ahead, so it carries a share of the update unless
    # the future is discounted away entirely
    assert (quality.carried_ratio > 0) == (scale > 0)


def test_a_random_sg_scores_near_zero_and_zero_sg_carries_nothing() -> None:
    core, ids = setup()
    torch.manual_seed(1)
    random = sg_quality(core, lambda state: torch.randn_like(state), ids, T, 0.5)
    assert abs(random.cosine) < 0.15 and random.relative_error > 1.0
    zero = sg_quality(core, lambda state: torch.zeros_like(state), ids, T, 0.5)
    assert zero.cosine == 0.0 and zero.norm_ratio == 0.0 and zero.carried_ratio == 0.0
    assert zero.relative_error == pytest.approx(1.0)


def test_the_probe_leaves_the_model_as_it_was() -> None:
    core, ids = setup()
    before = [p.detach().clone() for p in core.parameters()]
    sg_quality(core, lambda state: torch.ones_like(state), ids, T, 0.5)
    assert all(torch.equal(a, b) for a, b in zip(before, core.parameters(), strict=True))
    assert all(p.grad is None for p in core.parameters()) and core.training
    assert horizon_chunks(8) == 5 and horizon_chunks(40) == 1 and horizon_chunks(3) == 14
    with pytest.raises(ValueError, match="too few"):
        probe_windows(ids[:10], 100)
    assert not math.isnan(sg_quality(core, lambda s: s, ids, 40, 1.0).cosine)
