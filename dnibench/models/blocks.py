"""The model container every architecture returns: an ordered list of blocks.

A block is the smallest unit a split may put on a stage (one Linear-BN-ReLU
layer, one conv layer, one LSTM layer). Models are written for one device as a
plain sequence of blocks; parallelism is applied around them by
:mod:`dnibench.split`, so the stage code never knows which runtime drives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class BlockModel:
    """A model as ``blocks`` applied in order, with its loss on the last output.

    ``task`` is ``"classification"`` (logits ``(B, C)`` against labels ``(B,)``)
    or ``"sequence"`` (logits ``(B, T, C)`` against labels ``(B, T)``).
    ``vocab_size`` is set for models whose inputs are token ids of that
    vocabulary (the language models): their synthetic-gradient context and
    synthetic inputs embed tokens per position instead of reading floats.
    """

    name: str
    blocks: nn.ModuleList
    task: str = "classification"
    vocab_size: int | None = None

    def __len__(self) -> int:
        return len(self.blocks)

    def as_module(self) -> nn.Sequential:
        """The unsplit model as one module sharing the blocks' parameters."""
        return nn.Sequential(*self.blocks)

    def loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy over examples (and steps, for sequence tasks)."""
        return classification_loss(logits, labels)


def classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy; flattens ``(B, T, C)`` logits for per-step labels."""
    if logits.dim() == 3:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    return F.cross_entropy(logits, labels)


def count_correct(logits: Tensor, labels: Tensor) -> int:
    """Number of correct argmax predictions (per step for sequence tasks)."""
    return int((logits.argmax(dim=-1) == labels).sum())
