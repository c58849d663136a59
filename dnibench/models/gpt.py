"""A decoder-only transformer language model (``gpt``), written as a list of blocks.

Pipeline parallelism is used today mostly on models of this shape, so this is
the model on which a pipeline user learns what DNI, complete unlock or
zero-bubble would do for them. Definitions (``docs/transformer.md``):

- input ``(B, L)`` token ids; output ``(B, L, V)`` logits; the loss is the mean
  cross-entropy over the ``B * L`` next-token targets;
- block 0: token embedding plus learned position embedding, then the first
  transformer block; blocks 1..N-1: one transformer block each; block N: the
  final LayerNorm and the untied LM head (``Linear(D, V)``). ``depth`` = N
  transformer blocks gives N + 1 blocks, as every model here has ``depth + 1``;
- a transformer block is pre-LayerNorm: ``x + attn(ln1(x))`` then
  ``x + mlp(ln2(x))``, the attention causal through
  ``F.scaled_dot_product_attention(is_causal=True)``, the MLP ``D -> 4D -> D``
  with GELU. No dropout, so runs are deterministic.

Every parameter lives in a leaf module (``Embedding``, ``Linear``,
``LayerNorm``) called exactly once per forward, and no weight is tied: the
zero-bubble split backward of :class:`dnibench.regimes.stage.Stage` then takes
its per-module path instead of re-running the backward for the weights.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from dnibench.models.blocks import BlockModel

#: Width of one attention head; a width that is no multiple of it gets one head.
HEAD_DIM = 64
#: Standard deviation of the initial weights (GPT-2's).
INIT_STD = 0.02


class Embeddings(nn.Module):
    """Token embedding plus learned position embedding: ``(B, L)`` ids to ``(B, L, D)``."""

    def __init__(self, vocab_size: int, context: int, width: int) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, width)
        self.position = nn.Embedding(context, width)

    def forward(self, ids: Tensor) -> Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.token(ids) + self.position(positions)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one ``Linear`` for q, k, v, one for the output."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"gpt width {width} is not a multiple of its {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        batch, length, width = x.shape
        q, k, v = (
            t.reshape(batch, length, self.heads, width // self.heads).transpose(1, 2)
            for t in self.qkv(x).split(width, dim=2)
        )
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: ``x + attn(ln1(x))``, then ``x + mlp(ln2(x))``."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def default_heads(width: int) -> int:
    """Heads of :data:`HEAD_DIM` units where the width allows, else one head."""
    return width // HEAD_DIM if width % HEAD_DIM == 0 else 1


def _initialise(blocks: nn.ModuleList, depth: int) -> None:
    """GPT-2's initialisation: weights N(0, 0.02), biases 0, LayerNorm 1/0; residual
    projections (attention and MLP outputs) scaled by 1/sqrt(2 * depth)."""
    for module in blocks.modules():
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, TransformerBlock):
            for residual in (module.attn.proj, module.mlp[2]):
                assert isinstance(residual, nn.Linear)
                nn.init.normal_(residual.weight, std=INIT_STD / math.sqrt(2 * depth))


def build_gpt(
    input_shape: tuple[int, ...],
    vocab_size: int,
    *,
    width: int = 128,
    depth: int = 4,
    heads: int | None = None,
) -> BlockModel:
    """``depth`` transformer blocks of ``width`` over windows of ``input_shape == (L,)`` tokens.

    ``vocab_size`` is both the embedding's and the head's size (targets are
    the next tokens of the same vocabulary).
    """
    if len(input_shape) != 1:
        raise ValueError(
            f"the gpt model reads windows of token ids, shape (L,); got examples of {input_shape}"
        )
    if depth < 1:
        raise ValueError("the gpt model needs at least one transformer block (depth >= 1)")
    if vocab_size < 2:
        raise ValueError(f"the gpt model needs a vocabulary of at least 2 tokens, got {vocab_size}")
    heads = default_heads(width) if heads is None else heads
    blocks: list[nn.Module] = [
        nn.Sequential(Embeddings(vocab_size, input_shape[0], width), TransformerBlock(width, heads))
    ]
    blocks += [TransformerBlock(width, heads) for _ in range(depth - 1)]
    blocks.append(nn.Sequential(nn.LayerNorm(width), nn.Linear(width, vocab_size)))
    model = BlockModel("gpt", nn.ModuleList(blocks), task="sequence", vocab_size=vocab_size)
    _initialise(model.blocks, depth)
    return model


__all__ = [
    "HEAD_DIM",
    "CausalSelfAttention",
    "Embeddings",
    "TransformerBlock",
    "build_gpt",
    "default_heads",
]
