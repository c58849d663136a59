"""A stacked LSTM core, one block per layer, with a linear readout.

Sequence inputs are ``(B, T, F)`` floats, or ``(B, T)`` token ids when a
vocabulary size is given (character language modelling). Flat vector inputs
``(B, D)`` are read as ``sqrt(D)`` steps of ``sqrt(D)`` features when ``D`` is a
square (8x8 digits become 8 rows), else as ``D`` steps of one feature.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from dnibench.models.blocks import BlockModel


def sequence_shape(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """The ``(T, F)`` a flat or sequence example is read as."""
    if len(input_shape) == 2:
        return input_shape[0], input_shape[1]
    flat = math.prod(input_shape)
    side = math.isqrt(flat)
    if side * side == flat:
        return side, side
    return flat, 1


class ToSequence(nn.Module):
    """Reshape ``(B, ...)`` inputs into ``(B, T, F)``."""

    def __init__(self, steps: int, features: int) -> None:
        super().__init__()
        self.steps = steps
        self.features = features

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], self.steps, self.features)


class LSTMLayer(nn.Module):
    """One LSTM layer mapping ``(B, T, F)`` to ``(B, T, H)``.

    With ``stateful`` set, the final ``(h, c)`` of one call is the initial state
    of the next (detached, so gradients stop at the chunk boundary): this is
    what truncated BPTT over consecutive chunks needs.
    """

    def __init__(self, in_features: int, hidden: int, *, stateful: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, batch_first=True)
        self.stateful = stateful
        self.state: tuple[Tensor, Tensor] | None = None

    def reset_state(self) -> None:
        """Forget the carried state (start of a new sequence)."""
        self.state = None

    def forward(self, x: Tensor) -> Tensor:
        state = self.state if self.stateful else None
        if state is not None and state[0].shape[1] != x.shape[0]:
            state = None
        out, (h, c) = self.lstm(x, state)
        if self.stateful:
            self.state = (h.detach(), c.detach())
        return out


class Readout(nn.Module):
    """Linear readout of the last step (classification) or of every step."""

    def __init__(self, hidden: int, num_classes: int, *, every_step: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, num_classes)
        self.every_step = every_step

    def forward(self, h: Tensor) -> Tensor:
        return self.linear(h if self.every_step else h[:, -1])


def build_lstm(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    width: int = 128,
    depth: int = 2,
    vocab_size: int | None = None,
    every_step: bool = False,
    stateful: bool = False,
) -> BlockModel:
    """``depth`` LSTM layers of ``width`` units and a readout block."""
    if depth < 1:
        raise ValueError("the lstm model needs at least one LSTM layer (depth >= 1)")
    blocks: list[nn.Module] = []
    if vocab_size is not None:
        first_in = width
        entry: nn.Module = nn.Embedding(vocab_size, width)
    else:
        steps, first_in = sequence_shape(input_shape)
        entry = ToSequence(steps, first_in)
    for layer in range(depth):
        lstm = LSTMLayer(first_in if layer == 0 else width, width, stateful=stateful)
        blocks.append(nn.Sequential(entry, lstm) if layer == 0 else lstm)
    blocks.append(Readout(width, num_classes, every_step=every_step))
    task = "sequence" if every_step else "classification"
    return BlockModel("lstm", nn.ModuleList(blocks), task=task)


def reset_states(model: nn.Module) -> None:
    """Reset every stateful LSTM layer inside ``model``."""
    for module in model.modules():
        if isinstance(module, LSTMLayer):
            module.reset_state()


__all__ = ["LSTMLayer", "build_lstm", "reset_states", "sequence_shape"]
