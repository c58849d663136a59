"""Optimiser settings shared by every stage of a pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dnibench.errors import unknown_name

OPTIMIZER_NAMES = ("adam", "sgd")


@dataclass(frozen=True)
class OptimConfig:
    """Which optimiser a stage's own parameters use, and its learning rate."""

    name: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9

    def build(self, module: nn.Module) -> torch.optim.Optimizer:
        """A fresh optimiser over ``module``'s parameters."""
        if self.name == "adam":
            return torch.optim.Adam(module.parameters(), lr=self.lr)
        if self.name == "sgd":
            return torch.optim.SGD(module.parameters(), lr=self.lr, momentum=self.momentum)
        raise unknown_name("optimizer", self.name, OPTIMIZER_NAMES)
