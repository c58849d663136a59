"""Chunks: the unit truncated BPTT trains on, and the loss over one.

A sequence is cut into chunks of ``truncation`` steps; each is one forward,
one backward and one update. A chunk knows whether it ends its sequence
(``ends``): after the last chunk of a finite sequence (a copy-task episode)
there is no future, so no synthetic gradient belongs there and the next
chunk starts from a fresh state. A character stream never ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor
from torch.nn import functional as F

from dnibench.studies.recurrent.core import State


@dataclass(frozen=True)
class Chunk:
    """``inputs`` and ``targets`` ``(B, T)``; ``mask`` marks the scored steps (None: all)."""

    inputs: Tensor
    targets: Tensor
    mask: Tensor | None = None
    ends: bool = False

    @property
    def positions(self) -> int:
        """B x T: the loss is a mean over this many positions."""
        return self.targets.numel()


@dataclass
class ChunkStep:
    """What one trained chunk gives back.

    ``state`` is the detached state the next chunk starts from (None after
    a sequence's last chunk). DNI also fills ``sg_target`` (the bootstrapped
    per-example target formed at the chunk's first state, None when the chunk
    started a sequence), ``synthetic`` (the per-example synthetic gradient put
    at the last state, before scaling), and the SG / aux regression losses.
    """

    loss: float
    outputs: Tensor
    state: State | None
    sg_target: Tensor | None = None
    synthetic: Tensor | None = None
    sg_loss: float = math.nan
    aux_loss: float = math.nan


def token_loss(logits: Tensor, chunk: Chunk) -> Tensor:
    """Cross-entropy summed over the scored positions, divided by all B x T positions.

    Dividing by every position (not only the scored ones) keeps the loss of a
    chunk in the same units whatever it scores, which the per-example
    synthetic gradient relies on; with no mask it is the plain mean.
    """
    per_position = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), chunk.targets.reshape(-1), reduction="none"
    )
    if chunk.mask is not None:
        per_position = per_position * chunk.mask.reshape(-1)
    return per_position.sum() / chunk.positions


def sequence_chunks(
    inputs: Tensor, targets: Tensor, truncation: int, mask: Tensor | None = None
) -> list[Chunk]:
    """A finite sequence ``(B, N)`` cut into chunks of ``truncation`` steps, the last one ending it.

    The last chunk is shorter when ``truncation`` does not divide N; with
    ``truncation >= N`` the whole sequence is one chunk (full BPTT).
    """
    length = inputs.shape[1]
    chunks = []
    for start in range(0, length, truncation):
        stop = min(start + truncation, length)
        chunks.append(
            Chunk(
                inputs[:, start:stop],
                targets[:, start:stop],
                None if mask is None else mask[:, start:stop],
                ends=stop == length,
            )
        )
    return chunks


__all__ = ["Chunk", "ChunkStep", "sequence_chunks", "token_loss"]
