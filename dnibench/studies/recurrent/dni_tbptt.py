"""Truncated BPTT with a synthetic gradient at the truncation boundary: ``dni-tbptt(T)``.

Per chunk, starting from state s_0 (the previous chunk's last state) and
ending in s_T, with L the chunk's loss (a mean over its P = B x T positions)
and M the synthetic-gradient module (:class:`SyntheticGradient` over the
state vector ``[h, c]``, final layer zero at the start):

1. Forward from s_0, made a leaf that requires grad (detached from the
   previous chunk's graph, as in tbptt).
2. Backward of ``L + <g_T, s_T>`` with ``g_T = scale * M(s_T).detach() / P``:
   M predicts the per-example gradient of the *sum* of future per-position
   losses, and dividing by P puts it in the units of the mean loss. No
   synthetic gradient is added after a sequence's last chunk (no future).
3. The gradient that reaches s_0 is the within-chunk gradient plus g_T
   carried back through the chunk: ``P * grad(s_0)`` is the bootstrapped
   per-example target for the prediction M(s_0) that the previous chunk used
   at its last state. M(s_0) is regressed onto it (L2, target detached); the
   state s_0 was kept for this, one step beyond the chunk.
4. Update the core (clipped like tbptt) and M.

Two knobs: ``scale`` (how much of M is injected into the core's update) and
``discount`` (gamma, how M's bootstrap target discounts the next chunk's
synthetic gradient). The target carries the next prediction back at gamma:
``P * grad(s_0)`` with the within-chunk part plus ``gamma * M(s_T) / P``
carried through the chunk, so the fixed point is ``M = sum_k gamma^k
(gradient from k chunks ahead)``, the undiscounted future at ``gamma = 1``.
By default gamma equals ``scale``, and then the target is read off the one
backward that applied the scaled synthetic gradient, exactly as when one knob
did both jobs; a different gamma adds one backward of the carried part through
the chunk (:func:`dnibench.studies.recurrent.sg_knobs.retarget`). With the
synthetic gradient forced to zero the core's update is exactly tbptt's; with T at least a finite
sequence's length it is exactly full BPTT.

``+aux`` (the core also predicts a synthetic gradient further ahead): the
core's aux head reads the state s_T of chunk i and is trained with L2 (times
``aux_weight``) towards M(s_T) of chunk i+1, the synthetic gradient T steps
further on. That target is known only during chunk i+1, so the last core step
of chunk i is kept (its starting state and input) and recomputed then; the
aux loss reaches the core's weights through that one step and the head.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from dnibench.regimes.synthetic_gradient import SyntheticGradient
from dnibench.studies.recurrent.chunks import Chunk, ChunkStep
from dnibench.studies.recurrent.core import Core, LSTMCore, State, detach_state
from dnibench.studies.recurrent.sg_knobs import retarget
from dnibench.studies.recurrent.tbptt import TBPTT, LossFn


class DNITBPTT(TBPTT):
    """Trains ``core`` chunk by chunk with a synthetic gradient at each chunk's end."""

    name = "dni-tbptt"

    def __init__(
        self,
        core: nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        sg: SyntheticGradient,
        *,
        clip: float = 0.0,
        aux_weight: float | None = None,
        discount: float | None = None,
    ) -> None:
        super().__init__(core, loss_fn, optimizer, clip=clip)
        self.sg = sg
        self.discount = self.scale if discount is None else discount
        self.aux_weight = aux_weight
        if aux_weight is not None and getattr(core, "aux_head", None) is None:
            raise ValueError("aux needs a core built with an aux head (LSTMCore(aux=True))")
        self._last_step: tuple[State, Tensor] | None = None

    @property
    def cell(self) -> Core:
        """The core as the recurrent interface the bootstrap needs (join / split states)."""
        return cast(Core, self.core)

    @property
    def lstm(self) -> LSTMCore:
        """The core as an LSTMCore: what aux needs (its aux head and split forward)."""
        return cast(LSTMCore, self.core)

    @property
    def scale(self) -> float:
        """The factor on M's prediction where it enters the backward pass."""
        return self.sg.config.scale

    def predict(self, state: State) -> Tensor:
        """M's per-example prediction at ``state`` (no graph)."""
        with torch.no_grad():
            return self.sg.net(self.cell.join(cast(State, detach_state(state))))

    def train_chunk(self, chunk: Chunk, state: State | None) -> ChunkStep:
        """One chunk: forward, backward with the synthetic gradient, SG regression, update."""
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
        torch.autograd.backward(roots, grads, retain_graph=self.discount != self.scale)
        target, sg_loss = None, math.nan
        if first is not None:
            reached = [f.grad if f.grad is not None else torch.zeros_like(f) for f in first]
            target = self.cell.join(tuple(reached)) * chunk.positions
            if self.discount != self.scale and synthetic is not None:
                target = retarget(self, first, last, synthetic, target, chunk.positions)
            batch = target.shape[0]
            sg_loss = float(self.sg.regress(self.cell.join(first).detach(), None, target / batch))
        self.update()
        if self.aux_weight is not None:
            kept = (cast(State, detach_state(before_last)), chunk.inputs[:, -1:])
            self._last_step = None if chunk.ends else kept
        return ChunkStep(
            float(loss.detach()),
            outputs.detach(),
            None if chunk.ends else detach_state(last),
            sg_target=target,
            synthetic=synthetic,
            sg_loss=sg_loss,
            aux_loss=math.nan if aux_loss is None else float(aux_loss.detach()),
        )

    def _aux_loss(self, synthetic: Tensor | None) -> Tensor | None:
        """L2 of the aux head's prediction (recomputed at the previous chunk's last step)."""
        if self.aux_weight is None or synthetic is None or self._last_step is None:
            return None
        before_last, last_input = self._last_step
        _, recomputed = self.core(last_input, before_last)
        head = self.lstm.aux_head
        assert head is not None  # checked when the regime was built
        prediction = head(self.lstm.join(recomputed))
        return self.aux_weight * F.mse_loss(prediction, synthetic)


__all__ = ["DNITBPTT"]
