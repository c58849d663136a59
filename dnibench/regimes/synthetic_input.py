"""Synthetic input (SI) modules: I_k predicts h_{k-1} from the raw input x.

Complete unlock gives every stage k > 1 an I_k so that it can run its forward
on ``hhat_{k-1} = I_k(x)`` at once instead of waiting for the real activation;
I_k then regresses (L2) onto the real h_{k-1} when it arrives. The module is an
MLP from the flattened input to the flattened activation; it is trained by its
own loss only, never by the stage's task loss.

Token inputs (``vocab_size`` given: a language model's ``(B, L)`` ids) are not
numbers to flatten: I_k then works per position, from that position's token
and its index through embeddings, the embedding taking the place of the first
``Linear`` of the MLP (a ``Linear`` on a one-hot token and a one-hot
position)::

    z_t = E_token[x_t] + E_position[t]                  width n (n = D if hidden = 0)
    hhat_t = Linear(ReLU(... ReLU(z_t)))                hidden - 1 inner Linear(n, n) layers

with ``hidden = 0`` meaning ``hhat_t = z_t`` (``D``-wide embeddings). See
``docs/transformer.md``.
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


#: Standard deviation of the token and position embeddings' initial values (GPT-2's).
EMBEDDING_STD = 0.02


class TokenEmbeddings(nn.Module):
    """``(B, L)`` ids to ``(B, L, n)``: a token embedding plus a position embedding."""

    def __init__(self, vocab_size: int, length: int, width: int) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, width)
        self.position = nn.Embedding(length, width)
        for table in (self.token, self.position):
            nn.init.normal_(table.weight, std=EMBEDDING_STD)

    def forward(self, ids: Tensor) -> Tensor:
        return self.token(ids) + self.position(torch.arange(ids.shape[1], device=ids.device))


class SyntheticInput(nn.Module):
    """Predicts an activation of ``activation_shape`` from inputs of ``input_shape``.

    With ``vocab_size``, inputs are ``(L,)`` token ids and the prediction is
    per position (the activation is ``(L, D)``).
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        activation_shape: tuple[int, ...],
        config: SIConfig,
        *,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__()
        self.activation_shape = activation_shape
        self.tokens = vocab_size is not None
        if vocab_size is not None:
            self.net = _token_net(vocab_size, input_shape, activation_shape, config)
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
            return
        size = math.prod(input_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in range(config.hidden):
            layers += [nn.Linear(size, config.width), nn.ReLU()]
            size = config.width
        layers.append(nn.Linear(size, math.prod(activation_shape)))
        self.net = nn.Sequential(*layers)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)

    def _predict(self, x: Tensor) -> Tensor:
        if self.tokens:
            return self.net(x)
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


def _token_net(
    vocab_size: int,
    input_shape: tuple[int, ...],
    activation_shape: tuple[int, ...],
    config: SIConfig,
) -> nn.Sequential:
    """The per-position SI: embeddings (the first layer), then ``hidden - 1`` ReLU layers."""
    if len(input_shape) != 1 or len(activation_shape) != 2 or activation_shape[0] != input_shape[0]:
        raise ValueError(
            f"a token SI maps (L,) ids to (L, D) activations; got {input_shape} -> "
            f"{activation_shape}"
        )
    out = activation_shape[-1]
    first = config.width if config.hidden else out
    layers: list[nn.Module] = [TokenEmbeddings(vocab_size, input_shape[0], first)]
    size = first
    for _ in range(config.hidden - 1):
        layers += [nn.ReLU(), nn.Linear(size, config.width)]
        size = config.width
    if config.hidden:
        layers += [nn.ReLU(), nn.Linear(size, out)]
    return nn.Sequential(*layers)
