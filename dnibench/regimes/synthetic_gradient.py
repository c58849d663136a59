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
hidden layer makes a low-rank linear SG whose cost can be made small; a
``rank`` puts that bottleneck (no nonlinearity) before the output layer
whatever the hidden layers.

Token activations ``(B, L, D)`` of a language model (``tokens``) are handled
per token: the same module maps each position's ``h`` (``D``) to its gradient
(``D``), and since the loss is the mean over the ``B * L`` tokens, the
prediction is divided by ``B * L``, not ``B``, and the regression target is
``delta * B * L`` (the gradient of the *summed* per-token loss). A cDNI
context is then each position's next-token target, embedded: an
``Embedding(V, n)`` added to the first layer's output (``n`` its width), the
same function class as a one-hot target concatenated to ``h``, without the
``V``-wide input. See ``docs/transformer.md``.
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
    rank: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.hidden <= 2:
            raise ValueError(f"SG hidden layers must be 0, 1 or 2, got {self.hidden}")
        if self.width is not None and self.width < 1:
            raise ValueError(f"SG width must be positive, got {self.width}")
        if self.rank is not None and self.rank < 1:
            raise ValueError(f"SG rank must be positive, got {self.rank}")


def _layers(
    make: type[nn.Linear] | type[nn.Conv2d],
    in_size: int,
    out_size: int,
    hidden: int,
    width: int | None,
    rank: int | None = None,
) -> nn.Sequential:
    """``hidden`` ReLU layers of ``width``, a ``rank`` bottleneck if asked, then a
    zero-initialised output layer."""

    def layer(size_in: int, size_out: int) -> nn.Linear | nn.Conv2d:
        if make is nn.Conv2d:
            return nn.Conv2d(size_in, size_out, kernel_size=3, padding=1)  # keeps H x W
        return nn.Linear(size_in, size_out)

    layers: list[nn.Module] = []
    size = in_size
    if hidden == 0 and width is not None and width < out_size and rank is None:
        layers.append(layer(size, width))  # low-rank bottleneck, no nonlinearity
        size = width
    for _ in range(hidden):
        inner = width if width is not None else out_size
        layers += [layer(size, inner), nn.ReLU()]
        size = inner
    if rank is not None:
        layers.append(layer(size, rank))  # the output layer factorised through rank
        size = rank
    last = layer(size, out_size)
    nn.init.zeros_(last.weight)
    assert last.bias is not None  # both layer types are built with a bias
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class SyntheticGradient(nn.Module):
    """Predicts the gradient of a microbatch loss with respect to ``h``.

    ``context_size`` > 0 makes it a cDNI module that also reads a context
    vector ``c`` of shape ``(B, context_size)`` (the one-hot label). With
    ``tokens`` (activations ``(L, D)`` of a language model) it works per
    token, and its context is the ``(B, L)`` next-token ids of a vocabulary of
    ``context_size``, embedded.
    """

    def __init__(
        self,
        activation_shape: tuple[int, ...],
        config: SGConfig,
        context_size: int = 0,
        *,
        tokens: bool = False,
    ):
        super().__init__()
        self.config = config
        self.context_size = context_size
        self.tokens = tokens
        self.spatial = len(activation_shape) == 3 and not tokens
        features = activation_shape[0] if self.spatial else activation_shape[-1]
        make = nn.Conv2d if self.spatial else nn.Linear
        read = 0 if tokens else context_size  # tokens: the context is embedded, not read
        self.net = _layers(
            make, features + read, features, config.hidden, config.width, config.rank
        )
        params = list(self.net.parameters())
        self.context_embedding: nn.Embedding | None = None
        if tokens and context_size:
            first = self.net[0]
            assert isinstance(first, nn.Linear)
            self.context_embedding = nn.Embedding(context_size, first.out_features)
            if len(self.net) == 1:  # the embedding is part of the output layer: zero as well
                nn.init.zeros_(self.context_embedding.weight)
            else:  # the scale nn.Linear gives its weights (fan-in D)
                bound = 1 / features**0.5
                nn.init.uniform_(self.context_embedding.weight, -bound, bound)
            params += list(self.context_embedding.parameters())
        self.optimizer = torch.optim.Adam(params, lr=config.lr)

    def context_of(self, labels: Tensor, num_classes: int) -> Tensor:
        """The context a stage hands :meth:`predict` for ``labels``: the one-hot labels,
        or (per token) the next-token ids themselves, which the module embeds."""
        if self.tokens:
            return labels
        return F.one_hot(labels, num_classes).float()

    def _normaliser(self, h: Tensor) -> int:
        """What the loss is a mean over: ``B`` examples, or ``B * L`` tokens."""
        return h.shape[0] * h.shape[1] if self.tokens else h.shape[0]

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
        if self.context_embedding is None:
            return self.net(self._inputs(h, context))
        if context is None:
            raise ValueError("a cDNI synthetic gradient needs a context")
        first = self.net[0](h) + self.context_embedding(context)
        return self.net[1:](first)

    def predict(self, h: Tensor, context: Tensor | None = None) -> Tensor:
        """Synthetic dL/dh for a microbatch whose loss is a mean over ``h.shape[0]``
        examples (over the ``B * L`` tokens, per token)."""
        with torch.no_grad():
            return self.config.scale * self._per_example(h, context) / self._normaliser(h)

    def regress(self, h: Tensor, context: Tensor | None, delta: Tensor) -> Tensor:
        """One L2 step of M(h) towards the gradient ``delta`` that came back.

        Returns the regression loss before the step as a detached 0-d tensor,
        not a float: reading it back to the host would synchronise a GPU
        stream once per microbatch, so runtimes convert their logs when the
        run ends.
        """
        target = delta.detach() * self._normaliser(h)
        loss = F.mse_loss(self._per_example(h.detach(), context), target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()
