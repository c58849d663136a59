"""A small convolutional net: (conv, BatchNorm, ReLU, pooling) per layer."""

from __future__ import annotations

import math

from torch import Tensor, nn

from dnibench.models.blocks import BlockModel


class ToImage(nn.Module):
    """Reshape flat ``(B, D)`` inputs with square ``D`` into ``(B, 1, s, s)``.

    Lets the conv net run on vector datasets such as 8x8 digits; image
    inputs ``(B, C, H, W)`` pass through unchanged.
    """

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:
            return x
        return x.reshape(x.shape[0], 1, self.side, self.side)


def image_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """The ``(C, H, W)`` the conv net sees for a dataset's example shape."""
    if len(input_shape) == 3:
        return input_shape
    flat = math.prod(input_shape)
    side = math.isqrt(flat)
    if side * side != flat:
        raise ValueError(
            f"the conv model needs image inputs or a square number of features; got {input_shape}"
        )
    return (1, side, side)


def build_conv(
    input_shape: tuple[int, ...], num_classes: int, *, width: int = 32, depth: int = 3
) -> BlockModel:
    """``depth`` conv layers of ``width`` channels, then pool-and-classify.

    Each layer halves the spatial size while it is at least 2, so shallow
    inputs (8x8 digits) and deep nets both stay valid.
    """
    channels, height, _ = image_shape(input_shape)
    blocks: list[nn.Module] = []
    for layer in range(depth):
        parts: list[nn.Module] = [ToImage(height)] if layer == 0 else []
        parts += [
            nn.Conv2d(channels, width, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        ]
        if height >= 2:
            parts.append(nn.MaxPool2d(2))
            height //= 2
        blocks.append(nn.Sequential(*parts))
        channels = width
    head: list[nn.Module] = [ToImage(height)] if depth == 0 else []
    blocks.append(
        nn.Sequential(
            *head, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)
        )
    )
    return BlockModel("conv", nn.ModuleList(blocks))
