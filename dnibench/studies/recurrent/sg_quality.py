"""How good is a recurrent synthetic gradient? Compare it with the gradient it stands for.

At a chunk boundary with state s, ``M(s)`` is trained (by bootstrapping, see
:mod:`dni_tbptt`) towards the per-example gradient of every future loss,
discounted by the bootstrap discount gamma once per chunk of T characters
(``sg_gamma``, which defaults to the injection scale ``sg_scale``; below,
``scale`` names the discount as the functions take it):

    M(s) -> sum_k gamma^k * d(SumLoss of chunk k after s) / ds

so the like-for-like true gradient is that sum cut at a horizon of L >= 40
characters (whole chunks): with ``scale`` < 1 the cut-off terms are small,
with ``scale`` = 1 they are not, and the relative error then also counts what
M rightly knows beyond L. ``scale`` = 0 (the control) compares M with the
next chunk's gradient alone, which is what it is trained on there.

Figures (over a fixed set of held-out windows, the state at each reached by
reading ``warmup`` characters from a zero state):

- ``cosine``: mean over windows of cos(M(s), g_true);
- ``relative_error``: ||M - g_true|| / ||g_true|| over all windows;
- ``norm_ratio``: ||M|| / ||g_true|| (the "diverged" rule flags > 10);
- ``carried_ratio``: at the start of the next chunk, the norm of the part of
  the gradient the synthetic gradient carries back (``scale`` M(s_T) through
  the chunk) over the norm of the within-chunk part: how much of the update
  the SG carries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from dnibench.studies.recurrent.core import LSTMCore

HORIZON = 40
WINDOWS = 64
WARMUP = 64

Predict = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class SGQuality:
    """The four figures of one probe (NaN where undefined, e.g. a zero true gradient)."""

    cosine: float
    relative_error: float
    norm_ratio: float
    carried_ratio: float

    @classmethod
    def missing(cls) -> SGQuality:
        return cls(math.nan, math.nan, math.nan, math.nan)


def horizon_chunks(truncation: int, horizon: int = HORIZON) -> int:
    """Whole chunks of ``truncation`` covering at least ``horizon`` characters."""
    return max(1, math.ceil(horizon / truncation))


def probe_length(truncation: int, horizon: int = HORIZON, warmup: int = WARMUP) -> int:
    """Characters one probe window reads: warm-up, the horizon in whole chunks, one target."""
    return warmup + horizon_chunks(truncation, horizon) * truncation + 1


def probe_windows(ids: Tensor, length: int, windows: int = WINDOWS) -> Tensor:
    """``windows`` rows of ``length`` consecutive ids, starting evenly across ``ids``."""
    if ids.numel() < length + 1:
        raise ValueError(f"{ids.numel()} held-out characters are too few for windows of {length}")
    starts = torch.linspace(0, ids.numel() - length - 1, windows).long()
    return ids[starts[:, None] + torch.arange(length)[None, :]]


def _row_losses(core: LSTMCore, inputs: Tensor, targets: Tensor, state: Tensor) -> Tensor:
    """Per-position cross-entropy, shape (windows, steps), from joined state ``state``."""
    logits, _ = core(inputs, core.split(state))
    flat = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    )
    return flat.reshape(targets.shape)


def true_gradient(
    core: LSTMCore, inputs: Tensor, targets: Tensor, state: Tensor, truncation: int, scale: float
) -> Tensor:
    """Per-example gradient at ``state`` of the future losses, discounted per chunk."""
    start = state.detach().requires_grad_(True)
    losses = _row_losses(core, inputs, targets, start)
    steps = torch.arange(losses.shape[1], device=losses.device)
    weights = torch.tensor(scale, dtype=losses.dtype, device=losses.device) ** (steps // truncation)
    (grad,) = torch.autograd.grad((losses * weights).sum(), start)
    return grad


def carried_and_within(
    core: LSTMCore,
    predict: Predict,
    inputs: Tensor,
    targets: Tensor,
    state: Tensor,
    scale: float,
) -> tuple[Tensor, Tensor]:
    """Over one chunk from ``state``: the SG part and the within-chunk part of grad(state)."""
    start = state.detach().requires_grad_(True)
    logits, last = core(inputs, core.split(start))
    flat_logits = logits.reshape(-1, logits.shape[-1])
    loss = F.cross_entropy(flat_logits, targets.reshape(-1), reduction="sum")
    (within,) = torch.autograd.grad(loss, start, retain_graph=True)
    end = core.join(last)
    synthetic = scale * predict(end.detach()).detach()
    (carried,) = torch.autograd.grad((end * synthetic).sum(), start)
    return carried, within


def _ratio(top: Tensor, bottom: Tensor) -> float:
    below = float(bottom.norm())
    return float(top.norm()) / below if below > 0 else math.nan


def sg_quality(
    core: LSTMCore,
    predict: Predict,
    ids: Tensor,
    truncation: int,
    scale: float,
    *,
    horizon: int = HORIZON,
    windows: int = WINDOWS,
    warmup: int = WARMUP,
    discount: float | None = None,
) -> SGQuality:
    """Probe ``predict`` (M's per-example output on a joined state) on held-out ``ids``.

    ``scale`` is the injection scale (the carried share); ``discount`` the
    bootstrap gamma of the true gradient M is compared with (``scale`` when None).
    """
    rows = probe_windows(ids, probe_length(truncation, horizon, warmup), windows)
    inputs, targets = rows[:, warmup:-1], rows[:, warmup + 1 :]
    was_training = core.training
    core.eval()
    try:
        with torch.no_grad():
            _, reached = core(rows[:, :warmup], None)
            state = core.join(reached)
            predicted = predict(state)
        gamma = scale if discount is None else discount
        true = true_gradient(core, inputs, targets, state, truncation, gamma)
        carried, within = carried_and_within(
            core, predict, inputs[:, :truncation], targets[:, :truncation], state, scale
        )
    finally:
        core.train(was_training)
    cosine = float(F.cosine_similarity(predicted, true, dim=1).mean())
    return SGQuality(
        cosine=cosine,
        relative_error=_ratio(predicted - true, true),
        norm_ratio=_ratio(predicted, true),
        carried_ratio=_ratio(carried, within),
    )


__all__ = [
    "HORIZON",
    "SGQuality",
    "carried_and_within",
    "horizon_chunks",
    "probe_length",
    "probe_windows",
    "sg_quality",
    "true_gradient",
]
