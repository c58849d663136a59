"""TBPTT(k1, k2) (mode tbptt-window): each loss once, backpropagated through the window.

- every scored position enters exactly one update, and only the new chunk's
  positions are scored (the loss function is instrumented);
- each update's gradient equals a hand-computed backward of the chunk's
  loss through the last ``window`` steps (state detached there), with the
  weights held still (lr 0) so the hand computation sees the same weights;
- a window equal to the truncation is tbptt exactly; a longer one is not.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from dnibench.studies.recurrent.chunks import Chunk, token_loss
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.core import LSTMCore
from dnibench.studies.recurrent.tbptt import TBPTT
from dnibench.studies.recurrent.tbptt_window import TBPTTWindow
from dnibench.studies.recurrent.trainer import build_regime

VOCAB = 50


def chunks(ids: Tensor, truncation: int) -> list[Chunk]:
    out = []
    for start in range(0, ids.shape[1] - 1, truncation):
        stop = min(start + truncation, ids.shape[1] - 1)
        out.append(Chunk(ids[:, start:stop], ids[:, start + 1 : stop + 1]))
    return out


def test_every_position_enters_exactly_one_update() -> None:
    torch.manual_seed(0)
    ids = torch.arange(45)[None, :].repeat(2, 1)  # each target names its position
    seen: list[Tensor] = []

    def recording(logits: Tensor, chunk: Chunk) -> Tensor:
        seen.append(chunk.targets[0].clone())
        return token_loss(logits, chunk)

    core = LSTMCore(VOCAB, VOCAB, 6)
    regime = TBPTTWindow(core, recording, torch.optim.SGD(core.parameters(), lr=0.1), window=20)
    state = None
    back = []
    for chunk in chunks(ids, 4):
        back.append(regime.positions_back)
        state = regime.train_chunk(chunk, state).state
    positions = torch.cat(seen).tolist()
    assert positions == list(range(1, 45))  # each once, in order, one update per chunk
    assert len(seen) == 11 and all(t.numel() == 4 for t in seen)
    assert back == [0, 4, 8, 12, 16, 16, 16, 16, 16, 16, 16]  # history grows to window - T


def hand_gradient(core: LSTMCore, ids: Tensor, start: int, stop: int, window: int) -> list[Tensor]:
    """Gradient of the mean loss of targets ids[start+1 : stop+1], through ``window`` steps."""
    begin = max(0, stop - window)
    with torch.no_grad():
        state = core(ids[:, :begin], None)[1] if begin else None
    logits, _ = core(ids[:, begin:stop], state)
    scored = logits[:, start - begin :]
    chunk = Chunk(ids[:, start:stop], ids[:, start + 1 : stop + 1])
    return list(torch.autograd.grad(token_loss(scored, chunk), list(core.parameters())))


@pytest.mark.parametrize(("truncation", "window"), [(8, 40), (3, 12)])
def test_each_update_is_the_full_window_backward_of_its_chunk(truncation: int, window: int) -> None:
    torch.manual_seed(1)
    ids = torch.randint(VOCAB, (3, 8 * truncation + 1), generator=torch.Generator().manual_seed(2))
    core = LSTMCore(VOCAB, VOCAB, 5)
    regime = TBPTTWindow(
        core, token_loss, torch.optim.SGD(core.parameters(), lr=0.0), window=window
    )
    state = None
    for index, chunk in enumerate(chunks(ids, truncation)):
        state = regime.train_chunk(chunk, state).state
        start = index * truncation
        expected = hand_gradient(core, ids, start, start + chunk.inputs.shape[1], window)
        for grad, parameter in zip(expected, core.parameters(), strict=True):
            assert parameter.grad is not None
            torch.testing.assert_close(parameter.grad, grad, rtol=1e-4, atol=1e-6)
    # and it binds: a window of T alone differs from the long window once history exists
    short = hand_gradient(core, ids, 5 * truncation, 6 * truncation, truncation)
    long = hand_gradient(core, ids, 5 * truncation, 6 * truncation, window)
    assert any(
        not torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(short, long, strict=True)
    )


def config(**changes: object) -> RecurrentConfig:
    base = {"width": 8, "batch_size": 3, "truncation": 4}
    return RecurrentConfig(**{**base, **changes})  # type: ignore[arg-type]


def parameters(regime: TBPTT) -> list[Tensor]:
    return [p.detach().clone() for p in regime.core.parameters()]


def train(regime: TBPTT, ids: Tensor) -> None:
    state = None
    for chunk in chunks(ids, 4):
        state = regime.train_chunk(chunk, state).state


def test_a_window_of_the_truncation_is_tbptt_and_a_longer_one_is_not() -> None:
    ids = torch.randint(VOCAB, (3, 29), generator=torch.Generator().manual_seed(4))
    tbptt = build_regime(config(mode="tbptt"), VOCAB, VOCAB)
    same = build_regime(config(mode="tbptt-window", window=4), VOCAB, VOCAB)
    longer = build_regime(config(mode="tbptt-window", window=12), VOCAB, VOCAB)
    assert isinstance(same, TBPTTWindow) and isinstance(longer, TBPTTWindow)
    for regime in (tbptt, same, longer):
        train(regime, ids)
    for a, b in zip(parameters(same), parameters(tbptt), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(
        not torch.equal(a, b) for a, b in zip(parameters(longer), parameters(tbptt), strict=True)
    )


def test_a_sequence_end_drops_the_history() -> None:
    core = LSTMCore(VOCAB, VOCAB, 4)
    regime = TBPTTWindow(core, token_loss, torch.optim.SGD(core.parameters(), lr=0.0), window=8)
    ids = torch.randint(VOCAB, (2, 9), generator=torch.Generator().manual_seed(5))
    first, second = chunks(ids, 4)
    step = regime.train_chunk(first, None)
    assert regime.positions_back == 4
    ended = Chunk(second.inputs, second.targets, ends=True)
    assert regime.train_chunk(ended, step.state).state is None
    assert regime.positions_back == 0


def test_the_window_must_cover_the_truncation() -> None:
    with pytest.raises(ValueError, match="window"):
        config(mode="tbptt-window", truncation=8, window=4)
    config(mode="tbptt", truncation=80)  # the window matters only to tbptt-window
