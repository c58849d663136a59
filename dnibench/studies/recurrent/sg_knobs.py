"""The synthetic gradient's two knobs: injection scale and bootstrap discount gamma.

One knob used to do both jobs: ``sg_scale`` set how much of M's prediction
enters the core's update *and*, because M's target was read off that same
backward, how strongly the bootstrap discounts the future. At 0.1 even a
perfect SG then injects a tenth of the next chunk's gradient. The knobs are
now separate (``sg_scale`` and ``sg_gamma``); ``sg_gamma`` unset means "equal
to ``sg_scale``", which reproduces the single-knob training bit for bit (the
regime then takes the very same code path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from dnibench.studies.recurrent.core import State

if TYPE_CHECKING:
    from dnibench.studies.recurrent.config import RecurrentConfig
    from dnibench.studies.recurrent.dni_tbptt import DNITBPTT


def discount_of(config: RecurrentConfig) -> float:
    """The bootstrap discount gamma of ``config``: ``sg_gamma``, or ``sg_scale`` when unset."""
    return config.sg_scale if config.sg_gamma is None else config.sg_gamma


def retarget(
    regime: DNITBPTT, first: State, last: State, synthetic: Tensor, target: Tensor, positions: int
) -> Tensor:
    """M's bootstrap target at gamma instead of the injection scale.

    ``target`` was read off the backward that carried ``scale * M(s_T) / P``
    back to s_0; this adds ``(gamma - scale)`` times the carried part, one
    more backward through the chunk (whose graph the regime retained).
    """
    unit = regime.cell.split(synthetic / positions)
    carried = torch.autograd.grad(list(last), list(first), grad_outputs=list(unit))
    return target + (regime.discount - regime.scale) * regime.cell.join(carried) * positions


__all__ = ["discount_of", "retarget"]
