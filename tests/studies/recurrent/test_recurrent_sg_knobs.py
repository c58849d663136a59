"""The separated SG knobs: injection scale and bootstrap discount gamma.

- at gamma = scale the new regime reproduces the single-knob regime bit for
  bit (losses, SG targets, final core and SG parameters: torch.equal), the
  single-knob regime being a verbatim copy of the code before the split;
- at gamma != scale M's target is the within-chunk gradient plus gamma times
  the synthetic gradient carried back, while the injected part stays at scale;
- the suite key is validated (gamma in [0, 1]).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import Tensor

from dnibench.studies.recurrent.chunks import Chunk, ChunkStep
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.core import State, detach_state
from dnibench.studies.recurrent.dni_tbptt import DNITBPTT
from dnibench.studies.recurrent.keys import RNN_KEYS
from dnibench.studies.recurrent.sg_knobs import discount_of
from dnibench.studies.recurrent.trainer import build_regime

VOCAB = 7


class SingleKnob(DNITBPTT):
    """``train_chunk`` exactly as it was when ``sg_scale`` did both jobs (commit 99ffe6b)."""

    def train_chunk(self, chunk: Chunk, state: State | None) -> ChunkStep:
        first = None if state is None else tuple(s.detach().requires_grad_(True) for s in state)
        if self.aux_weight is not None:
            outputs, last, before_last = self.lstm.forward_split(chunk.inputs, first)
        else:
            outputs, last = self.core(chunk.inputs, first)
        loss = self.loss_fn(outputs, chunk)
        roots: list[Tensor] = [loss]
        grads: list[Tensor] = [torch.ones_like(loss)]
        synthetic = None
        if not chunk.ends:
            synthetic = self.predict(last)
            roots += list(last)
            grads += list(self.cell.split(self.scale * synthetic / chunk.positions))
        aux_loss = self._aux_loss(synthetic) if state is not None else None
        if aux_loss is not None:
            roots.append(aux_loss)
            grads.append(torch.ones_like(aux_loss))
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(roots, grads)
        target, sg_loss = None, math.nan
        if first is not None:
            reached = [f.grad if f.grad is not None else torch.zeros_like(f) for f in first]
            target = self.cell.join(tuple(reached)) * chunk.positions
            batch = target.shape[0]
            sg_loss = float(self.sg.regress(self.cell.join(first).detach(), None, target / batch))
        self.update()
        if self.aux_weight is not None:
            kept = (detach_state(before_last), chunk.inputs[:, -1:])
            self._last_step = None if chunk.ends else kept  # type: ignore[assignment]
        return ChunkStep(
            float(loss.detach()),
            outputs.detach(),
            None if chunk.ends else detach_state(last),
            sg_target=target,
            synthetic=synthetic,
            sg_loss=sg_loss,
            aux_loss=math.nan if aux_loss is None else float(aux_loss.detach()),
        )


def config(**changes: object) -> RecurrentConfig:
    base = {"width": 10, "batch_size": 3, "truncation": 4, "mode": "dni-tbptt"}
    return RecurrentConfig(**{**base, **changes})  # type: ignore[arg-type]


def stream(length: int = 33) -> Tensor:
    return torch.randint(VOCAB, (3, length), generator=torch.Generator().manual_seed(3))


def train(regime: DNITBPTT, ids: Tensor, truncation: int) -> list[ChunkStep]:
    steps, state = [], None
    for start in range(0, ids.shape[1] - 1, truncation):
        stop = min(start + truncation, ids.shape[1] - 1)
        step = regime.train_chunk(Chunk(ids[:, start:stop], ids[:, start + 1 : stop + 1]), state)
        steps.append(step)
        state = step.state
    return steps


def single_knob(regime: DNITBPTT) -> SingleKnob:
    old = SingleKnob.__new__(SingleKnob)
    old.__dict__.update(copy.deepcopy(regime.__dict__))
    return old


def params(regime: DNITBPTT) -> list[Tensor]:
    return [p.detach().clone() for p in [*regime.core.parameters(), *regime.sg.net.parameters()]]


@pytest.mark.parametrize("scale", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("aux", [False, True])
def test_equal_knobs_reproduce_the_single_knob_regime_bit_for_bit(scale: float, aux: bool) -> None:
    ids = stream()
    new = build_regime(config(sg_scale=scale, sg_gamma=scale, aux=aux), VOCAB, VOCAB)
    assert isinstance(new, DNITBPTT) and new.discount == new.scale == scale
    old = single_knob(build_regime(config(sg_scale=scale, aux=aux), VOCAB, VOCAB))
    new_steps, old_steps = train(new, ids, 4), train(old, ids, 4)
    assert [s.loss for s in new_steps] == [s.loss for s in old_steps]
    assert [s.sg_loss for s in new_steps[1:]] == [s.sg_loss for s in old_steps[1:]]
    for a, b in zip(new_steps[1:], old_steps[1:], strict=True):
        assert a.sg_target is not None and b.sg_target is not None
        assert torch.equal(a.sg_target, b.sg_target)
    for a, b in zip(params(new), params(old), strict=True):
        assert torch.equal(a, b)
    # the comparison binds: another gamma moves the SG's training, hence the core's
    other = build_regime(config(sg_scale=scale, sg_gamma=scale / 2, aux=aux), VOCAB, VOCAB)
    train(other, ids, 4)  # type: ignore[arg-type]
    assert any(not torch.equal(a, b) for a, b in zip(params(other), params(old), strict=True))  # type: ignore[arg-type]


def test_unset_gamma_means_the_injection_scale() -> None:
    assert discount_of(config(sg_scale=0.3)) == 0.3
    assert discount_of(config(sg_scale=0.3, sg_gamma=1.0)) == 1.0


@pytest.mark.parametrize(("scale", "gamma"), [(0.1, 1.0), (0.0, 0.5), (1.0, 0.0)])
def test_the_target_discounts_at_gamma_and_the_update_injects_at_scale(
    scale: float, gamma: float
) -> None:
    regime = build_regime(config(sg_scale=scale, sg_gamma=gamma, clip=0.0), VOCAB, VOCAB)
    assert isinstance(regime, DNITBPTT)
    with torch.no_grad():
        for p in regime.sg.net.parameters():
            p.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(1))
    ids = stream(9)
    first = train(regime, ids[:, :5], 4)[0]  # one chunk: a state to start from
    chunk = Chunk(ids[:, 4:8], ids[:, 5:9])
    core = copy.deepcopy(regime.core)
    start = tuple(s.detach().requires_grad_(True) for s in first.state or ())
    outputs, last = core(chunk.inputs, start)
    loss = regime.loss_fn(outputs, chunk)
    within = torch.autograd.grad(loss, start, retain_graph=True)
    with torch.no_grad():
        synthetic = regime.sg.net(core.join(last))
    unit = core.split(synthetic / chunk.positions)
    carried = torch.autograd.grad(list(last), list(start), list(unit), retain_graph=True)
    expected = (core.join(within) + gamma * core.join(carried)) * chunk.positions
    injected = torch.autograd.grad(
        [loss, *last], list(core.parameters()),
        grad_outputs=[torch.ones_like(loss), *core.split(scale * synthetic / chunk.positions)],
    )  # fmt: skip
    step = regime.train_chunk(chunk, first.state)
    assert step.sg_target is not None
    torch.testing.assert_close(step.sg_target, expected, rtol=1e-5, atol=1e-6)
    for grad, parameter in zip(injected, regime.core.parameters(), strict=True):
        assert parameter.grad is not None
        torch.testing.assert_close(parameter.grad, grad, rtol=1e-5, atol=1e-7)


def test_the_suite_key_bounds_gamma() -> None:
    (key,) = [k for k in RNN_KEYS if k.name == "sg_gamma"]
    assert (key.type, key.minimum, key.maximum) == ("float", 0, 1)
