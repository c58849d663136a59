"""The ``reference`` runtime: every stage in one process, one after another.

It is the ground truth for numerical tests: the distributed and stream
runtimes must reproduce its trajectories. Order within a training step:

- backprop: all forwards of the m microbatches, then all backwards (GPipe
  order; with accumulation this equals one backward over the whole batch),
  then one optimiser step per stage. Every backprop schedule is checked
  against this order, zero-bubble ``zb`` included: its split backward (D,
  then a deferred W) must give the parameters this fused backward gives,
  bit for bit.
- DNI / cDNI: per microbatch, each stage in turn runs its forward and its
  synthetic backward, updating after every ``update_every`` microbatches
  (default: once per step, the optimiser work of GPipe); the true delta each
  stage sends up is regressed onto at once by the stage above. This is the
  trajectory of a pipeline with a staleness bound of 0.
- complete unlock: as DNI, but each stage k > 1 runs on I_k(x) and regresses
  I_k onto the real h_{k-1} produced by the stage before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from dnibench.models.blocks import count_correct
from dnibench.regimes.regime import Regime
from dnibench.regimes.stage import SGStats, Stage


@dataclass
class StepMetrics:
    """What one training step measured, averaged over its microbatches."""

    loss: float
    sg_loss: list[float] = field(default_factory=list)
    sg_cosine: list[float] = field(default_factory=list)
    si_loss: list[float] = field(default_factory=list)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


class ReferenceRuntime:
    """Runs ``stages`` under ``regime`` with ``microbatches`` per step."""

    def __init__(
        self,
        stages: list[Stage],
        regime: Regime,
        microbatches: int = 1,
        update_every: int | None = None,
    ) -> None:
        if microbatches < 1:
            raise ValueError("microbatches must be at least 1")
        self.stages = stages
        self.regime = regime
        self.microbatches = microbatches
        # Unlocked regimes: optimiser step every this many microbatches (default: once a step).
        self.update_every = microbatches if update_every is None else update_every
        self._next_mb = 0

    def _split(self, x: Tensor, y: Tensor) -> list[tuple[Tensor, Tensor]]:
        if len(x) < self.microbatches:
            raise ValueError(f"batch of {len(x)} cannot make {self.microbatches} microbatches")
        return list(zip(x.chunk(self.microbatches), y.chunk(self.microbatches), strict=True))

    def train_step(self, x: Tensor, y: Tensor) -> StepMetrics:
        """One step over the batch ``(x, y)``; returns its metrics."""
        for stage in self.stages:
            stage.module.train()
        if not self.regime.synthetic_gradients:
            loss = self.accumulate_gradients(x, y)
            for stage in self.stages:
                stage.step()
            return StepMetrics(loss=loss)
        chunks = self._split(x, y)
        first = self._next_mb
        self._next_mb += len(chunks)
        return self._unlocked_step(chunks, first)

    def accumulate_gradients(self, x: Tensor, y: Tensor) -> float:
        """Backprop forwards and backwards of one batch, without the update.

        Leaves each parameter's ``.grad`` as the whole batch's gradient (the
        microbatch losses are scaled by 1/m); returns the mean loss.
        """
        chunks = self._split(x, y)
        first = self._next_mb
        self._next_mb += len(chunks)
        scale = 1.0 / len(chunks)
        losses = []
        for offset, (xi, yi) in enumerate(chunks):
            h = xi
            for stage in self.stages:
                h = stage.forward(first + offset, h, yi, loss_scale=scale)
            losses.append(float(h) / scale)
        for offset in range(len(chunks)):
            grad = None
            for stage in reversed(self.stages):
                grad = stage.backward(first + offset, grad)
        return _mean(losses)

    def _unlocked_step(self, chunks: list[tuple[Tensor, Tensor]], first: int) -> StepMetrics:
        num = len(self.stages)
        scale = 1.0 / self.update_every
        losses: list[float] = []
        sg_stats: list[list[SGStats]] = [[] for _ in range(num - 1)]
        si_losses: list[list[Tensor]] = [[] for _ in range(num - 1)]
        for offset, (xi, yi) in enumerate(chunks):
            mb = first + offset
            real = xi
            for stage in self.stages:
                inp = real
                if self.regime.synthetic_inputs and not stage.is_first:
                    inp = stage.synthetic_input(mb, xi)
                out = stage.forward(mb, inp, yi, loss_scale=scale)
                if self.regime.synthetic_inputs and not stage.is_first:
                    si_losses[stage.index - 1].append(stage.update_synthetic_input(mb, real))
                delta = stage.synthetic_backward(mb)
                if (offset + 1) % self.update_every == 0 or offset == len(chunks) - 1:
                    stage.step()
                if delta is not None:
                    above = self.stages[stage.index - 1]
                    sg_stats[above.index].append(above.update_synthetic_gradient(mb, delta))
                real = out
            losses.append(float(real) / scale)
        return StepMetrics(
            loss=_mean(losses),
            sg_loss=[_mean([float(s.loss) for s in stats]) for stats in sg_stats],
            sg_cosine=[_mean([float(s.cosine) for s in stats]) for stats in sg_stats],
            si_loss=[_mean([float(v) for v in values]) for values in si_losses]
            if self.regime.synthetic_inputs
            else [],
        )

    def evaluate(self, x: Tensor, y: Tensor, batch_size: int = 512) -> tuple[float, float]:
        """Loss and accuracy on ``(x, y)`` with real inputs through every stage."""
        for stage in self.stages:
            stage.module.eval()
        total_loss = 0.0
        correct = 0
        count = 0
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                h = self.stages[0].cast(x[start : start + batch_size])
                labels = y[start : start + batch_size]
                for stage in self.stages:
                    h = stage.module(h)
                total_loss += float(self.stages[-1].loss_fn(h, labels)) * len(labels)
                correct += count_correct(h, labels)
                count += labels.numel()
        for stage in self.stages:
            stage.module.train()
        return total_loss / len(x), correct / count
