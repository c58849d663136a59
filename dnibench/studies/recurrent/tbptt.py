"""Truncated BPTT, the baseline regime: ``tbptt(T)``.

Stateful: the state a chunk ends in is the state the next chunk starts from,
so the model sees an unbroken stream, but that state crosses the boundary
detached, so no gradient flows from one chunk's loss into an earlier chunk.
Each chunk is one update: loss = cross-entropy averaged over the chunk's
B x T positions (BPC = loss / ln 2), backward, optional gradient-norm
clipping, optimiser step. A longer T lets the gradient reach further back but
gives fewer updates per character; that trade-off is what DNI aims to break.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from dnibench.studies.recurrent.chunks import Chunk, ChunkStep
from dnibench.studies.recurrent.core import State, detach_state

LossFn = Callable[[Tensor, Chunk], Tensor]


class TBPTT:
    """Trains ``core`` chunk by chunk with truncated BPTT."""

    name = "tbptt"

    def __init__(
        self,
        core: nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        *,
        clip: float = 0.0,
    ) -> None:
        self.core = core
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.clip = clip

    def train_chunk(self, chunk: Chunk, state: State | None) -> ChunkStep:
        """One forward, backward and update on ``chunk`` from ``state`` (None: a fresh start)."""
        outputs, last = self.core(chunk.inputs, detach_state(state))
        loss = self.loss_fn(outputs, chunk)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.update()
        return ChunkStep(
            float(loss.detach()), outputs.detach(), None if chunk.ends else detach_state(last)
        )

    def update(self) -> None:
        """Clip the core's gradient norm (when ``clip`` > 0) and step its optimiser."""
        if self.clip > 0:
            nn.utils.clip_grad_norm_(self.core.parameters(), self.clip)
        self.optimizer.step()


__all__ = ["TBPTT", "LossFn"]
