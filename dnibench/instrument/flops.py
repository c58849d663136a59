"""Model FLOPs: PaLM's count for a decoder, and FlopCounterMode on the meta device.

MFU (model FLOP utilisation) divides the FLOPs a model *must* do per token by
the time taken and the machine's peak. For a decoder transformer the field
uses PaLM's count (Chowdhery et al. 2022, "PaLM: Scaling Language Modeling
with Pathways", appendix B)::

    model FLOPs per token = 6 N + 12 n_layer d L

N counts the non-embedding parameters, the LM head included (every weight
costs 2 FLOPs in the forward and 4 in the backward, per token); the second
term is attention's QK^T and AV products over a context of L, forward and
backward. The causal mask is *not* halved: every implementation computes the
full L x L products (PaLM's own convention, and torchtitan's).

:func:`count_flops` counts what actually runs with
``torch.utils.flop_counter.FlopCounterMode`` (matrix products only, which is
what a peak in matmul FLOP/s measures). It runs on the **meta** device:
shapes without arithmetic, so a GPU-sized model is counted in milliseconds
on a CPU, and ``scaled_dot_product_attention`` decomposes there into the
batched products the counter sees (on a CPU tensor it dispatches to a fused
kernel the counter does not know, and would count zero).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

META = torch.device("meta")


def palm_flops_per_token(
    non_embedding_params: int, n_layer: int, d_model: int, seq_len: int
) -> float:
    """PaLM's model FLOPs per token of one training step: 6 N + 12 n_layer d L."""
    if min(non_embedding_params, n_layer, d_model, seq_len) < 0:
        raise ValueError("parameter count and sizes must not be negative")
    return 6.0 * non_embedding_params + 12.0 * n_layer * d_model * seq_len


@dataclass(frozen=True)
class DecoderDims:
    """What PaLM's formula needs of a decoder: blocks, width, context, vocabulary, MLP ratio.

    ``bias`` says whether the attention and MLP linears (and the head) carry
    biases; layer norms always have a weight and a bias. A config of another
    shape (the ``gpt`` model's) maps onto this with its own field names.
    """

    n_layer: int
    d_model: int
    seq_len: int
    vocab: int
    mlp_ratio: float = 4.0
    bias: bool = True

    @property
    def mlp_width(self) -> int:
        return int(self.mlp_ratio * self.d_model)

    def non_embedding_params(self) -> int:
        """N: every parameter but the token and position embeddings, the head included."""
        d, f, b = self.d_model, self.mlp_width, int(self.bias)
        attention = 4 * d * d + 4 * d * b  # q, k, v and output projections
        mlp = 2 * d * f + (f + d) * b
        norms = 2 * 2 * d  # two pre-LayerNorms per block
        head = d * self.vocab + self.vocab * b
        return self.n_layer * (attention + mlp + norms) + 2 * d + head  # + the final LayerNorm

    def flops_per_token(self) -> float:
        """PaLM's model FLOPs per token for this decoder."""
        return palm_flops_per_token(
            self.non_embedding_params(), self.n_layer, self.d_model, self.seq_len
        )


def non_embedding_params(module: nn.Module) -> int:
    """Parameters of ``module`` outside its ``nn.Embedding`` leaves (N of PaLM's formula)."""
    tables = [m for m in module.modules() if isinstance(m, nn.Embedding)]
    embedded = {id(p) for table in tables for p in table.parameters()}
    return sum(p.numel() for p in module.parameters() if id(p) not in embedded)


def count_flops(work: Callable[[], object]) -> float:
    """Matrix-product FLOPs ``work()`` performs, as FlopCounterMode counts them."""
    from torch.utils.flop_counter import FlopCounterMode  # imports dynamo: pay only when used

    counter = FlopCounterMode(display=False)
    with counter:
        work()
    return float(counter.get_total_flops())


def on_meta(module: nn.Module) -> nn.Module:
    """A copy of ``module`` on the meta device (the original untouched), for counting."""
    return copy.deepcopy(module).to(META)


def training_step_flops(
    modules: Iterable[nn.Module],
    inputs: torch.Tensor,
    loss: Callable[[torch.Tensor], torch.Tensor],
) -> float:
    """FLOPs of one forward and backward of ``modules`` in order on ``inputs`` (meta copies).

    Parameter gradients of every module and the gradients between them are
    computed, as in training; ``loss`` maps the last output to a scalar.
    """
    copies = [on_meta(module) for module in modules]
    x = inputs.to(META)

    def step() -> None:
        h = x
        for module in copies:
            h = module(h)
        loss(h).backward()

    return count_flops(step)


__all__ = [
    "META", "DecoderDims", "count_flops", "non_embedding_params", "on_meta",
    "palm_flops_per_token", "training_step_flops",
]  # fmt: skip
