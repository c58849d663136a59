"""Build a regime around a fresh core from a :class:`RecurrentConfig`.

Both regimes build the core first from the same seed, so a tbptt and a
dni-tbptt run of one seed start from identical weights (the SG module is
built after the core and does not move the core's initialisation).
"""

from __future__ import annotations

import torch

from dnibench.regimes.synthetic_gradient import SGConfig, SyntheticGradient
from dnibench.studies.recurrent.chunks import token_loss
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.core import LSTMCore
from dnibench.studies.recurrent.dni_tbptt import DNITBPTT
from dnibench.studies.recurrent.sg_knobs import discount_of
from dnibench.studies.recurrent.tbptt import TBPTT, LossFn
from dnibench.studies.recurrent.tbptt_window import TBPTTWindow


def build_regime(
    config: RecurrentConfig,
    vocab_in: int,
    vocab_out: int,
    loss_fn: LossFn = token_loss,
    device: torch.device | None = None,
) -> TBPTT:
    """The regime of ``config`` (tbptt or dni-tbptt, with aux) training a new LSTM core.

    The core and SG module are built on the CPU (same weights on every device) and then
    moved to ``device`` (default: the CPU).
    """
    torch.manual_seed(config.seed)
    device = device or torch.device("cpu")
    core = LSTMCore(vocab_in, vocab_out, config.width, aux=config.aux).to(device)
    optimizer = torch.optim.Adam(core.parameters(), lr=config.lr)
    if config.mode == "tbptt":
        return TBPTT(core, loss_fn, optimizer, clip=config.clip)
    if config.mode == "tbptt-window":
        return TBPTTWindow(core, loss_fn, optimizer, window=config.window, clip=config.clip)
    sg_config = SGConfig(
        hidden=config.sg_hidden, width=config.sg_width, lr=config.sg_lr, scale=config.sg_scale
    )
    sg = SyntheticGradient((core.state_size,), sg_config).to(device)
    aux_weight = config.aux_weight if config.aux else None
    return DNITBPTT(
        core,
        loss_fn,
        optimizer,
        sg,
        clip=config.clip,
        aux_weight=aux_weight,
        discount=discount_of(config),
    )


__all__ = ["build_regime"]
