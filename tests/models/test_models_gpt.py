"""The gpt model: shapes, causality, its blocks, every parameter in a leaf module called once."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dnibench.errors import UserError
from dnibench.models import build_model
from dnibench.models.gpt import Embeddings, TransformerBlock, build_gpt, default_heads
from dnibench.split import split_blocks

VOCAB, LENGTH = 11, 6


def _ids(batch: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, LENGTH), generator=torch.Generator().manual_seed(seed))


def test_gpt_maps_token_windows_to_per_position_logits() -> None:
    model = build_model("gpt", (LENGTH,), VOCAB, width=16, depth=3)
    assert len(model) == 4  # depth transformer blocks (the embedding rides with the first) + head
    assert model.task == "sequence" and model.vocab_size == VOCAB
    assert isinstance(model.blocks[0][0], Embeddings)
    assert all(isinstance(block, TransformerBlock) for block in model.blocks[1:3])
    assert [type(m).__name__ for m in model.blocks[3]] == ["LayerNorm", "Linear"]
    logits = model.as_module()(_ids())
    assert logits.shape == (3, LENGTH, VOCAB)


def test_gpt_is_causal() -> None:
    torch.manual_seed(0)
    module = build_gpt((LENGTH,), VOCAB, width=16, depth=2, heads=2).as_module()
    ids = _ids()
    changed = ids.clone()
    changed[:, 4] = (changed[:, 4] + 1) % VOCAB
    before, after = module(ids), module(changed)
    assert torch.equal(before[:, :4], after[:, :4])  # positions before 4 never see token 4
    assert not torch.equal(before[:, 4:], after[:, 4:])


def test_the_loss_is_the_mean_over_every_token() -> None:
    model = build_gpt((LENGTH,), VOCAB, width=8, depth=1)
    logits = torch.randn(3, LENGTH, VOCAB)
    labels = _ids()
    summed = F.cross_entropy(logits.reshape(-1, VOCAB), labels.reshape(-1), reduction="sum")
    assert torch.allclose(model.loss(logits, labels), summed / (3 * LENGTH))


def test_every_parameter_sits_in_a_leaf_module_called_once() -> None:
    model = build_gpt((LENGTH,), VOCAB, width=16, depth=2, heads=2)
    owners = [m for m in model.as_module().modules() if list(m.parameters(recurse=False))]
    assert all(not list(m.children()) for m in owners)  # leaves only
    assert {type(m) for m in owners} == {nn.Embedding, nn.Linear, nn.LayerNorm}
    params = list(model.as_module().parameters())
    assert len({id(p) for p in params}) == len(params)  # nothing tied
    head, token = model.blocks[-1][1].weight, model.blocks[0][0].token.weight
    assert head.data_ptr() != token.data_ptr()  # the LM head is untied
    calls: dict[int, int] = {}
    for owner in owners:
        owner.register_forward_hook(
            lambda m, a, o: calls.__setitem__(id(m), calls.get(id(m), 0) + 1)
        )
    model.as_module()(_ids())
    assert sorted(calls.values()) == [1] * len(owners)


def test_the_split_puts_the_embedding_first_and_the_head_last() -> None:
    model = build_gpt((LENGTH,), VOCAB, width=8, depth=3)
    first, middle, last = split_blocks(model, [2, 1, 1])
    assert isinstance(first[0][0], Embeddings)
    assert isinstance(middle[0], TransformerBlock)
    assert isinstance(last[0][1], nn.Linear) and last[0][1].out_features == VOCAB


def test_heads_default_to_64_units_each() -> None:
    assert default_heads(256) == 4 and default_heads(48) == 1
    with pytest.raises(ValueError, match="multiple"):
        build_gpt((LENGTH,), VOCAB, width=10, heads=3)


@pytest.mark.parametrize(
    ("shape", "depth", "match"), [((2, 3), 2, "token ids"), ((LENGTH,), 0, "at least one")]
)
def test_bad_shapes_and_depths_are_user_errors(
    shape: tuple[int, ...], depth: int, match: str
) -> None:
    with pytest.raises(UserError, match=match):
        build_model("gpt", shape, VOCAB, width=8, depth=depth)
