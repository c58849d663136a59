"""Copy and repeat-copy: generated sequences whose answer lies far behind the question.

Copy of length N: the model reads N random symbols, then a delimiter, then N
blanks, and must emit the N symbols during the blanks. Repeat-copy also reads
a repeat count (one token, drawn uniformly from 1..R per example, R the
curriculum's current repeat ceiling) after the delimiter and must emit the
symbols that many times and then an end marker; examples of one batch are
padded to the longest answer R allows, the padding unscored. Only the answer
positions are scored (``mask``), so a chunk holding only the question has zero
loss and learns only from the gradient that reaches it from the future:
exactly what truncation cuts.

Token layout (inputs): symbols ``0..K-1``, delimiter ``K``, blank ``K+1``,
repeat counts ``K+2 .. K+1+max_repeats``. Outputs: symbols ``0..K-1`` and
end ``K``.

:class:`Curriculum` follows Jaderberg et al. (2017): a level counts as
solved once the error, averaged over the last few batches at that level, is
below 0.15 bits per output character; the task then grows. Copy grows the
length N by one. Repeat-copy grows the length *and* the repeat ceiling,
together: level N draws repeat counts from 1..min(N, max_repeats), so a
solved repeat-copy length N means N symbols repeated up to min(N, max_repeats)
times. The metric is the longest length solved within the budget.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import torch
from torch import Tensor

from dnibench.studies.recurrent.config import COPY_TASKS


@dataclass(frozen=True)
class CopyBatch:
    """Inputs and targets ``(B, L)`` and the mask of scored (answer) positions."""

    inputs: Tensor
    targets: Tensor
    mask: Tensor


@dataclass(frozen=True)
class CopyTask:
    """Generator of copy (``task = "copy"``) or repeat-copy batches."""

    task: str = "copy"
    symbols: int = 8
    max_repeats: int = 2

    def __post_init__(self) -> None:
        if self.task not in COPY_TASKS:
            raise ValueError(f"copy task must be one of {COPY_TASKS}, got {self.task!r}")
        if self.symbols < 2 or self.max_repeats < 1:
            raise ValueError("a copy task needs at least 2 symbols and max_repeats >= 1")

    @property
    def delimiter(self) -> int:
        return self.symbols

    @property
    def blank(self) -> int:
        return self.symbols + 1

    @property
    def end(self) -> int:
        """The output token that closes a repeat-copy answer."""
        return self.symbols

    @property
    def input_vocab(self) -> int:
        return self.symbols + 2 + self.max_repeats

    @property
    def output_vocab(self) -> int:
        return self.symbols + 1

    def count_token(self, repeats: int) -> int:
        """The input token that says "repeat ``repeats`` times"."""
        return self.symbols + 1 + repeats

    def repeat_ceiling(self, length: int) -> int:
        """The largest repeat count drawn at ``length`` (1 for copy): min(length, max_repeats)."""
        return 1 if self.task == "copy" else min(length, self.max_repeats)

    def sequence_length(self, length: int, repeats: int | None = None) -> int:
        """Steps of one example of ``length`` symbols (padded to ``repeats`` for repeat-copy).

        ``repeats`` defaults to :meth:`repeat_ceiling` of ``length``.
        """
        if self.task == "copy":
            return 2 * length + 1
        ceiling = self.repeat_ceiling(length) if repeats is None else repeats
        return length + 2 + length * ceiling + 1

    def batch(
        self,
        length: int,
        batch_size: int,
        generator: torch.Generator,
        repeats: int | None = None,
    ) -> CopyBatch:
        """``batch_size`` random examples of ``length`` symbols.

        Repeat-copy draws each example's count from 1..``repeats`` (default
        :meth:`repeat_ceiling` of ``length``, the curriculum's choice).
        """
        if length < 1:
            raise ValueError(f"copy length must be at least 1, got {length}")
        ceiling = self.repeat_ceiling(length) if repeats is None else repeats
        if self.task == "repeat-copy" and not 1 <= ceiling <= self.max_repeats:
            raise ValueError(
                f"repeat count ceiling must be from 1 to max_repeats = {self.max_repeats}, "
                f"got {ceiling}"
            )
        steps = self.sequence_length(length, ceiling)
        seq = torch.randint(self.symbols, (batch_size, length), generator=generator)
        inputs = torch.full((batch_size, steps), self.blank, dtype=torch.long)
        targets = torch.zeros((batch_size, steps), dtype=torch.long)
        mask = torch.zeros((batch_size, steps))
        inputs[:, :length] = seq
        inputs[:, length] = self.delimiter
        if self.task == "copy":
            targets[:, length + 1 :] = seq
            mask[:, length + 1 :] = 1.0
            return CopyBatch(inputs, targets, mask)
        counts = torch.randint(1, ceiling + 1, (batch_size,), generator=generator)
        start = length + 2
        for row, count in enumerate(counts.tolist()):
            inputs[row, length + 1] = self.count_token(count)
            answer = length * count
            targets[row, start : start + answer] = seq[row].repeat(count)
            targets[row, start + answer] = self.end
            mask[row, start : start + answer + 1] = 1.0
        return CopyBatch(inputs, targets, mask)


def error_bits(logits: Tensor, batch: CopyBatch) -> float:
    """Mean cross-entropy over the answer positions, in bits per output character."""
    per_position = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), batch.targets.reshape(-1), reduction="none"
    )
    scored = batch.mask.reshape(-1)
    return float((per_position * scored).sum() / scored.sum()) / math.log(2)


@dataclass
class Curriculum:
    """Grows the length by one once the windowed mean error is below ``threshold`` bits."""

    length: int = 1
    threshold: float = 0.15
    window: int = 5
    longest_solved: int = 0
    _recent: deque[float] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        if self.window < 1 or self.length < 1:
            raise ValueError("curriculum window and start length must be at least 1")

    def record(self, error: float) -> bool:
        """Add one batch's error at the current length; True when that solved it."""
        self._recent.append(error)
        if len(self._recent) > self.window:
            self._recent.popleft()
        if len(self._recent) < self.window or self.mean_error >= self.threshold:
            return False
        self.longest_solved = self.length
        self.length += 1
        self._recent.clear()
        return True

    @property
    def mean_error(self) -> float:
        """Mean error over the window at the current length (NaN before any batch)."""
        return sum(self._recent) / len(self._recent) if self._recent else math.nan


__all__ = ["CopyBatch", "CopyTask", "Curriculum", "error_bits"]
