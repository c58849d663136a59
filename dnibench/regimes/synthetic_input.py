"""Synthetic input (SI) modules: I_k predicts h_{k-1} from the raw input x.

Complete unlock gives every stage k > 1 an I_k so that it can run its forward
on ``hhat_{k-1} = I_k(x)`` at once instead of waiting for the real activation;
I_k then regresses (L2) onto the real h_{k-1} when it arrives. The module is an
MLP from the flattened input to the flattened activation; it is trained by its
own loss only, never by the stage's task loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass(frozen=True)
class SIConfig:
    """Knobs of every SI module in a pipeline."""

    hidden: int = 1
    width: int = 256
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if not 0 <= self.hidden <= 2:
            raise ValueError(f"SI hidden layers must be 0, 1 or 2, got {self.hidden}")
        if self.width < 1:
            raise ValueError(f"SI width must be positive, got {self.width}")


class SyntheticInput(nn.Module):
    """Predicts an activation of ``activation_shape`` from inputs of ``input_shape``."""

    def __init__(
        self, input_shape: tuple[int, ...], activation_shape: tuple[int, ...], config: SIConfig
    ) -> None:
        super().__init__()
        self.activation_shape = activation_shape
        size = math.prod(input_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in range(config.hidden):
            layers += [nn.Linear(size, config.width), nn.ReLU()]
            size = config.width
        layers.append(nn.Linear(size, math.prod(activation_shape)))
        self.net = nn.Sequential(*layers)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)

    def _predict(self, x: Tensor) -> Tensor:
        dtype = next(self.net.parameters()).dtype  # the run's precision (fp32 or bf16)
        return self.net(x.to(dtype)).reshape(x.shape[0], *self.activation_shape)

    def predict(self, x: Tensor) -> Tensor:
        """hhat = I(x), detached: the stage's forward runs on it as if it were real."""
        with torch.no_grad():
            return self._predict(x)

    def regress(self, x: Tensor, h_real: Tensor) -> Tensor:
        """One L2 step of I(x) towards the real activation; returns the loss before it.

        The loss stays a detached tensor (no host synchronisation per microbatch).
        """
        loss = F.mse_loss(self._predict(x), h_real.detach())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()
