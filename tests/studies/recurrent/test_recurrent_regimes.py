"""tbptt and dni-tbptt on the LSTM core: the equalities of docs/regimes.md, and that they bind.

- dni-tbptt with its synthetic gradient forced to zero (sg_scale = 0) trains
  exactly like tbptt, parameter for parameter;
- with T at least a sequence's length, both give exactly the full-BPTT
  gradients (no synthetic gradient after a sequence's last chunk);
- each equality fails when its condition is removed, so the tests can fail.
"""

from __future__ import annotations

import copy

import pytest
import torch

from dnibench.studies.recurrent.chunks import Chunk, sequence_chunks, token_loss
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.core import LSTMCore
from dnibench.studies.recurrent.dni_tbptt import DNITBPTT
from dnibench.studies.recurrent.tbptt import TBPTT
from dnibench.studies.recurrent.trainer import build_regime

VOCAB = 7


def stream(batch: int = 3, length: int = 41, seed: int = 5) -> torch.Tensor:
    return torch.randint(VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


def config(**changes: object) -> RecurrentConfig:
    return RecurrentConfig(**{"width": 12, "batch_size": 3, "truncation": 5, **changes})  # type: ignore[arg-type]


def train_stream(regime: TBPTT, ids: torch.Tensor, truncation: int) -> None:
    """Stateful training over a stream, chunk after chunk (as the char-LM benchmark does)."""
    state = None
    for start in range(0, ids.shape[1] - 1, truncation):
        stop = min(start + truncation, ids.shape[1] - 1)
        step = regime.train_chunk(Chunk(ids[:, start:stop], ids[:, start + 1 : stop + 1]), state)
        state = step.state


def randomise_sg(regime: DNITBPTT) -> None:
    """Give the SG module a non-zero output layer (it starts at zero by design)."""
    with torch.no_grad():
        for parameter in regime.sg.net.parameters():
            parameter.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(1))


def parameters(regime: TBPTT) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in regime.core.named_parameters()}


def test_dni_with_zero_synthetic_gradient_trains_exactly_like_tbptt() -> None:
    ids = stream()
    tbptt = build_regime(config(mode="tbptt"), VOCAB, VOCAB)
    dni = build_regime(config(mode="dni-tbptt", sg_scale=0.0), VOCAB, VOCAB)
    assert isinstance(dni, DNITBPTT)
    randomise_sg(dni)  # M predicts something non-zero; scale 0 must still silence it
    train_stream(tbptt, ids, 5)
    train_stream(dni, ids, 5)
    torch.testing.assert_close(parameters(dni), parameters(tbptt), rtol=0, atol=0)


def test_a_nonzero_synthetic_gradient_changes_training() -> None:
    ids = stream()
    tbptt = build_regime(config(mode="tbptt"), VOCAB, VOCAB)
    dni = build_regime(config(mode="dni-tbptt", sg_scale=1.0), VOCAB, VOCAB)
    assert isinstance(dni, DNITBPTT)
    randomise_sg(dni)
    train_stream(tbptt, ids, 5)
    train_stream(dni, ids, 5)
    differs = [
        not torch.equal(a, b)
        for a, b in zip(parameters(dni).values(), parameters(tbptt).values(), strict=True)
    ]
    assert any(differs)


def full_bptt_grads(
    core: LSTMCore, inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    reference = copy.deepcopy(core)
    logits, _ = reference(inputs, None)
    token_loss(logits, Chunk(inputs, targets, mask)).backward()
    return {k: v.grad.clone() for k, v in reference.named_parameters() if v.grad is not None}


@pytest.mark.parametrize("mode", ["tbptt", "dni-tbptt"])
@pytest.mark.parametrize("truncation", [12, 20])
def test_truncation_at_least_the_sequence_is_full_bptt(mode: str, truncation: int) -> None:
    inputs, targets = stream(length=12, seed=2), stream(length=12, seed=3)
    mask = (torch.arange(12) >= 6).float().expand(3, 12)  # scored only in the second half
    regime = build_regime(config(mode=mode, clip=0.0), VOCAB, VOCAB)
    if isinstance(regime, DNITBPTT):
        randomise_sg(regime)
    expected = full_bptt_grads(regime.core, inputs, targets, mask)
    chunks = sequence_chunks(inputs, targets, truncation, mask)
    assert len(chunks) == 1 and chunks[0].ends
    regime.train_chunk(chunks[0], None)
    got = {k: v.grad for k, v in regime.core.named_parameters() if v.grad is not None}
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_shorter_truncation_is_not_full_bptt() -> None:
    inputs, targets = stream(length=12, seed=2), stream(length=12, seed=3)
    mask = (torch.arange(12) >= 6).float().expand(3, 12)
    regime = build_regime(config(mode="tbptt", clip=0.0), VOCAB, VOCAB)
    expected = full_bptt_grads(regime.core, inputs, targets, mask)
    state = None
    for chunk in sequence_chunks(inputs, targets, 6, mask):
        step = regime.train_chunk(chunk, state)
        state = step.state
    # The last chunk's gradient alone; full BPTT also reaches the first half's inputs.
    embed = regime.core.embed.weight.grad
    assert embed is not None and not torch.allclose(embed, expected["embed.weight"])


def test_sequence_chunks_cut_and_mark_the_end() -> None:
    inputs = torch.arange(22).reshape(2, 11)
    chunks = sequence_chunks(inputs, inputs, 4)
    assert [c.inputs.shape[1] for c in chunks] == [4, 4, 3]
    assert [c.ends for c in chunks] == [False, False, True]
    torch.testing.assert_close(torch.cat([c.inputs for c in chunks], dim=1), inputs)


def test_forward_split_equals_one_forward() -> None:
    torch.manual_seed(0)
    core = LSTMCore(VOCAB, VOCAB, 8, aux=True)
    ids = stream(length=6)
    state = core.zero_state(3)
    logits, last = core(ids, state)
    split_logits, split_last, before = core.forward_split(ids, state)
    torch.testing.assert_close(split_logits, logits)
    torch.testing.assert_close(split_last, last)
    _, again = core(ids[:, -1:], before)
    torch.testing.assert_close(again, last)
    torch.testing.assert_close(core.join(core.split(core.join(last))), core.join(last))


def test_aux_trains_the_aux_head_towards_the_next_synthetic_gradient() -> None:
    ids = stream(length=60)
    regime = build_regime(config(mode="dni-tbptt", aux=True, aux_weight=1.0), VOCAB, VOCAB)
    assert isinstance(regime, DNITBPTT)
    randomise_sg(regime)
    head = regime.core.aux_head
    assert head is not None and not head.weight.abs().sum()
    steps = []
    state = None
    for start in range(0, 55, 5):
        step = regime.train_chunk(
            Chunk(ids[:, start : start + 5], ids[:, start + 1 : start + 6]), state
        )
        steps.append(step)
        state = step.state
    assert torch.isnan(torch.tensor(steps[0].aux_loss))  # nothing to predict from yet
    assert all(s.aux_loss > 0 for s in steps[1:])
    assert head.weight.abs().sum() > 0


def test_aux_needs_dni_and_an_aux_head() -> None:
    with pytest.raises(ValueError, match="aux"):
        RecurrentConfig(mode="tbptt", aux=True)
    regime = build_regime(config(mode="dni-tbptt"), VOCAB, VOCAB)
    assert isinstance(regime, DNITBPTT)
    with pytest.raises(ValueError, match="aux head"):
        DNITBPTT(regime.core, token_loss, regime.optimizer, regime.sg, aux_weight=1.0)
