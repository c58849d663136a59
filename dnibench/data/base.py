"""The one interface every data source presents.

A :class:`Dataset` is a pair of in-memory splits plus what a model needs to
know about them. A :class:`BatchStream` draws batches from a split as a pure
function of ``(seed, step)``: any process that builds the same stream sees the
same batch at the same step, which is how every pipeline stage gets the same
input batch (complete unlock needs ``x`` on every stage) without sending it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of one data source.

    ``x_*`` is float32 with the batch dimension first, or int64 token ids
    ``(N, L)`` for the token corpora; ``y_*`` is int64 class labels of shape
    ``(N,)`` (or ``(N, T)`` for per-step targets: a language model's next
    tokens). ``provenance`` identifies the text of a token corpus (name,
    sizes, Python version, hash; empty for the other data).
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    num_classes: int
    provenance: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, without the batch dimension."""
        return tuple(self.x_train.shape[1:])

    def __post_init__(self) -> None:
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError(f"{self.name}: inputs and labels differ in length")
        if len(self.x_train) == 0 or len(self.x_test) == 0:
            raise ValueError(f"{self.name}: empty split")


class BatchStream:
    """Deterministic shuffled batches: epoch ``e`` uses permutation ``seed + e``.

    Batches never straddle an epoch boundary; the tail of each permutation that
    does not fill a batch is dropped so every batch has the same size.
    """

    def __init__(self, x: Tensor, y: Tensor, batch_size: int, seed: int) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if batch_size > len(x):
            raise ValueError(f"batch_size {batch_size} exceeds the {len(x)} examples available")
        self.x = x
        self.y = y
        self.batch_size = batch_size
        self.seed = seed
        self.batches_per_epoch = len(x) // batch_size
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def batch(self, step: int) -> tuple[Tensor, Tensor]:
        """The batch drawn at global ``step`` (0-based)."""
        epoch, index = divmod(step, self.batches_per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.x), generator=gen)
            self._epoch = epoch
        rows = self._perm[index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]
