"""A 1-D convolutional net for signals: (Conv1d, BatchNorm, ReLU, pooling) per layer.

MNIST-1D's examples are 40 numbers, a signal rather than an image: the 2-D
conv net needs a square number of features, and an MLP ignores that
neighbouring samples belong together. This net convolves along the signal.
Its classifier reads the flattened feature map, not a global average: in
MNIST-1D where a pattern sits is part of the class, and averaging it away
costs accuracy.

Blocks hand each other flat ``(B, C*L)`` activations (each block reshapes its
input to ``(C, L)`` and flattens its output). A stage boundary is then a
vector, as in the MLP, and the synthetic-gradient and synthetic-input modules
see the whole feature map: handed a ``(B, C, L)`` tensor, the SG module would
read it as a sequence of C steps and predict each channel's gradient from
that channel alone.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from dnibench.models.blocks import BlockModel

KERNEL_SIZE = 5


class ToSignal(nn.Module):
    """Reshape inputs into ``(B, channels, length)``.

    Flat ``(B, D)`` vectors (MNIST-1D, digits) become one channel of ``D``
    samples; inputs that already have the target shape pass through unchanged.
    """

    def __init__(self, channels: int, length: int) -> None:
        super().__init__()
        self.channels = channels
        self.length = length

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], self.channels, self.length)


def signal_shape(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """The ``(C, L)`` the net sees: ``(C, L)`` examples as given, anything else as one channel."""
    if len(input_shape) == 2:
        return input_shape[0], input_shape[1]
    return 1, math.prod(input_shape)


def build_conv1d(
    input_shape: tuple[int, ...], num_classes: int, *, width: int = 32, depth: int = 3
) -> BlockModel:
    """``depth`` conv layers of ``width`` channels (kernel 5, same padding), then a linear head.

    Each layer halves the signal's length while it is at least 2 (40 samples
    become 20, 10, 5) and emits it flattened; the head is Linear over what is left.
    """
    channels, length = signal_shape(input_shape)
    if length < 1 or channels < 1:
        raise ValueError(f"the conv1d model needs a non-empty signal; got {input_shape}")
    blocks: list[nn.Module] = []
    for _ in range(depth):
        parts: list[nn.Module] = [
            ToSignal(channels, length),
            nn.Conv1d(channels, width, KERNEL_SIZE, padding=KERNEL_SIZE // 2, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(),
        ]
        if length >= 2:
            parts.append(nn.MaxPool1d(2))
            length //= 2
        blocks.append(nn.Sequential(*parts, nn.Flatten()))
        channels = width
    blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(channels * length, num_classes)))
    return BlockModel("conv1d", nn.ModuleList(blocks))


__all__ = ["KERNEL_SIZE", "ToSignal", "build_conv1d", "signal_shape"]
