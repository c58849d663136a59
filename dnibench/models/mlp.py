"""The DNI paper's fully connected net: (Linear, BatchNorm, ReLU) per layer."""

from __future__ import annotations

import math

from torch import nn

from dnibench.models.blocks import BlockModel


def build_mlp(
    input_shape: tuple[int, ...], num_classes: int, *, width: int = 256, depth: int = 3
) -> BlockModel:
    """``depth`` hidden layers of ``width`` units, then a linear classifier.

    The first block flattens its input so images and vectors both work.
    """
    in_features = math.prod(input_shape)
    blocks: list[nn.Module] = []
    for layer in range(depth):
        parts: list[nn.Module] = [nn.Flatten()] if layer == 0 else []
        parts += [
            nn.Linear(in_features, width),
            nn.BatchNorm1d(width),
            nn.ReLU(),
        ]
        blocks.append(nn.Sequential(*parts))
        in_features = width
    head: list[nn.Module] = [nn.Flatten()] if depth == 0 else []
    blocks.append(nn.Sequential(*head, nn.Linear(in_features, num_classes)))
    return BlockModel("mlp", nn.ModuleList(blocks))
