"""PaLM's model FLOPs per token agree with FlopCounterMode on a tiny decoder's training step.

The decoder is built here (token and position embeddings, pre-LayerNorm
blocks with causal attention and a 4x MLP, a final LayerNorm, an untied
head) so that the formula is held to a model of the shape it describes.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from dnibench.instrument.flops import (
    DecoderDims,
    count_flops,
    non_embedding_params,
    palm_flops_per_token,
    training_step_flops,
)

DIMS = DecoderDims(n_layer=2, d_model=128, seq_len=64, vocab=256)
HEADS = 4


class Block(nn.Module):
    def __init__(self, d: int, explicit: bool) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.explicit = explicit

    def attention(self, x: Tensor) -> Tensor:
        b, length, d = x.shape
        q, k, v = (t.reshape(b, length, HEADS, d // HEADS).transpose(1, 2) for t in
                   self.qkv(x).chunk(3, dim=-1))  # fmt: skip
        if self.explicit:  # the products spelled out, as the meta device decomposes SDPA
            scores = q @ k.transpose(-1, -2) / (d // HEADS) ** 0.5
            mask = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
            out = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(out.transpose(1, 2).reshape(b, length, d))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attention(self.ln1(x))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class TinyDecoder(nn.Module):
    def __init__(self, dims: DecoderDims, explicit: bool = False) -> None:
        super().__init__()
        self.tokens = nn.Embedding(dims.vocab, dims.d_model)
        self.positions = nn.Embedding(dims.seq_len, dims.d_model)
        self.blocks = nn.Sequential(*(Block(dims.d_model, explicit) for _ in range(dims.n_layer)))
        self.ln = nn.LayerNorm(dims.d_model)
        self.head = nn.Linear(dims.d_model, dims.vocab)

    def forward(self, ids: Tensor) -> Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.head(self.ln(self.blocks(self.tokens(ids) + self.positions(positions))))


def _loss(logits: Tensor) -> Tensor:
    labels = torch.zeros(logits.shape[:2], dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


def test_palm_formula_is_six_n_plus_attention() -> None:
    assert palm_flops_per_token(1000, 2, 8, 16) == 6 * 1000 + 12 * 2 * 8 * 16
    with pytest.raises(ValueError):
        palm_flops_per_token(-1, 1, 1, 1)


def test_n_counts_every_parameter_but_the_embeddings_head_included() -> None:
    model = TinyDecoder(DIMS)
    assert non_embedding_params(model) == DIMS.non_embedding_params()
    embedding = model.tokens.weight.numel() + model.positions.weight.numel()
    assert non_embedding_params(model) == sum(p.numel() for p in model.parameters()) - embedding


def test_palm_agrees_with_flop_counter_on_one_training_step_within_two_percent() -> None:
    batch = 2
    ids = torch.randint(0, DIMS.vocab, (batch, DIMS.seq_len))
    counted = training_step_flops([TinyDecoder(DIMS)], ids, _loss)
    formula = DIMS.flops_per_token() * batch * DIMS.seq_len
    assert abs(counted - formula) / formula < 0.02, (counted, formula)
    # The attention term is there, unhalved: without it the count would be ~30 % short.
    attention = 12 * DIMS.n_layer * DIMS.d_model * DIMS.seq_len * batch * DIMS.seq_len
    assert counted > formula - attention / 2


def test_counting_on_meta_equals_counting_a_real_step() -> None:
    """The meta device's count is what a real CPU step (attention spelled out) counts."""
    batch = 2
    ids = torch.randint(0, DIMS.vocab, (batch, DIMS.seq_len))
    model = TinyDecoder(DIMS, explicit=True)
    on_meta = training_step_flops([model], ids, _loss)
    real = count_flops(lambda: _loss(model(ids)).backward())
    assert on_meta == real > 0
    assert all(p.device.type == "cpu" for p in model.parameters())  # the original untouched
