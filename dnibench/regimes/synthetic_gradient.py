"""Synthetic gradient (SG) modules: M_{k+1} predicts dL/dh_k from h_k.

The module regresses onto *per-example* gradients: a stage's loss is a mean
over its microbatch of size B, so the true dL/dh_k of one example is
``g_i / B`` where ``g_i`` does not depend on B. Predicting ``g`` and dividing
by B keeps one SG valid whatever the microbatch size, and keeps its regression
targets at a scale Adam handles well.

Flat activations ``(B, D)`` and sequences ``(B, T, D)`` get an MLP over the
last dimension; feature maps ``(B, C, H, W)`` get 3x3 convolutions that keep
the shape, as in the paper. The final layer starts at zero, so the first
synthetic gradients are zero. A ``width`` below the activation size with no
hidden layer makes a low-rank linear SG whose cost can be made small.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass(frozen=True)
class SGConfig:
    """Knobs of every SG module in a pipeline."""

    hidden: int = 0
    width: int | None = None
    lr: float = 1e-3
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.hidden <= 2:
            raise ValueError(f"SG hidden layers must be 0, 1 or 2, got {self.hidden}")
        if self.width is not None and self.width < 1:
            raise ValueError(f"SG width must be positive, got {self.width}")


def _layers(
    make: type[nn.Linear] | type[nn.Conv2d],
    in_size: int,
    out_size: int,
    hidden: int,
    width: int | None,
) -> nn.Sequential:
    """``hidden`` ReLU layers of ``width`` then a zero-initialised output layer."""

    def layer(size_in: int, size_out: int) -> nn.Linear | nn.Conv2d:
        if make is nn.Conv2d:
            return nn.Conv2d(size_in, size_out, kernel_size=3, padding=1)  # keeps H x W
        return nn.Linear(size_in, size_out)

    layers: list[nn.Module] = []
    size = in_size
    if hidden == 0 and width is not None and width < out_size:
        layers.append(layer(size, width))  # low-rank bottleneck, no nonlinearity
        size = width
    for _ in range(hidden):
        inner = width if width is not None else out_size
        layers += [layer(size, inner), nn.ReLU()]
        size = inner
    last = layer(size, out_size)
    nn.init.zeros_(last.weight)
    assert last.bias is not None  # both layer types are built with a bias
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class SyntheticGradient(nn.Module):
    """Predicts the gradient of a microbatch loss with respect to ``h``.

    ``context_size`` > 0 makes it a cDNI module that also reads a context
    vector ``c`` of shape ``(B, context_size)`` (the one-hot label).
    """

    def __init__(self, activation_shape: tuple[int, ...], config: SGConfig, context_size: int = 0):
        super().__init__()
        self.config = config
        self.context_size = context_size
        self.spatial = len(activation_shape) == 3
        features = activation_shape[0] if self.spatial else activation_shape[-1]
        make = nn.Conv2d if self.spatial else nn.Linear
        self.net = _layers(make, features + context_size, features, config.hidden, config.width)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)

    def _inputs(self, h: Tensor, context: Tensor | None) -> Tensor:
        if self.context_size == 0:
            return h
        if context is None:
            raise ValueError("a cDNI synthetic gradient needs a context")
        if self.spatial:
            planes = context[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
            return torch.cat([h, planes], dim=1)
        if h.dim() == 3 and context.dim() == 2:
            context = context[:, None, :].expand(-1, h.shape[1], -1)
        return torch.cat([h, context], dim=-1)

    def _per_example(self, h: Tensor, context: Tensor | None) -> Tensor:
        return self.net(self._inputs(h, context))

    def predict(self, h: Tensor, context: Tensor | None = None) -> Tensor:
        """Synthetic dL/dh for a microbatch whose loss is a mean over ``h.shape[0]``."""
        with torch.no_grad():
            return self.config.scale * self._per_example(h, context) / h.shape[0]

    def regress(self, h: Tensor, context: Tensor | None, delta: Tensor) -> Tensor:
        """One L2 step of M(h) towards the gradient ``delta`` that came back.

        Returns the regression loss before the step as a detached 0-d tensor,
        not a float: reading it back to the host would synchronise a GPU
        stream once per microbatch, so runtimes convert their logs when the
        run ends.
        """
        target = delta.detach() * h.shape[0]
        loss = F.mse_loss(self._per_example(h.detach(), context), target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()
