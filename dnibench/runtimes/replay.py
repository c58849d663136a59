"""The reference runtime for the asynchronous modes: their schedule, replayed in one process.

The reference runtime trains a regime with its own fixed order (GPipe's for
backprop, per microbatch for DNI). An asynchronous mode's numbers depend on
its schedule (which weight version each microbatch meets), so the single
process must run that schedule: this runtime takes the mode's whole-run
schedule and executes its actions in the validator's execution order
(:func:`~dnibench.schedules.execution_order`'s rule: each stage runs its
list in order as far as what it waits for is done), calling the same stage
operations the driver calls, with activations and gradients handed over in
memory. One step at a time: :meth:`train_step` runs every stage up to the
end of its next step (its ``U`` after m more backwards) and stops it there,
so an evaluation between steps sees every stage after the same number of
steps. The trajectory is the dist and streams runtimes' (same actions, same
per-stage order; the tests hold them to one textbook loop).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from dnibench.regimes.regime import Regime
from dnibench.regimes.stage import Stage
from dnibench.runtimes.reference import ReferenceRuntime, StepMetrics
from dnibench.schedules import Action, Op, Schedule

Data = Callable[[int], tuple[Tensor, Tensor]]
"""Global microbatch id -> (x, y)."""

_BACKWARDS = (Op.BACKWARD, Op.LOCAL_BACKWARD)


class ScheduleReplay(ReferenceRuntime):
    """``stages`` running ``schedule`` (all steps) on ``data``; one :meth:`train_step` a step."""

    def __init__(
        self,
        stages: list[Stage],
        regime: Regime,
        microbatches: int,
        schedule: Schedule,
        data: Data,
        loss_scale: float,
    ) -> None:
        super().__init__(stages, regime, microbatches)
        self.schedule = schedule
        self.data = data
        self.loss_scale = loss_scale
        self._cursor = [0] * len(stages)
        self._backwards = [0] * len(stages)
        self._steps = [0] * len(stages)
        self._activations: dict[tuple[int, int], Tensor] = {}
        self._gradients: dict[tuple[int, int], Tensor] = {}
        self._losses: list[float] = []

    def _ready(self, k: int, action: Action) -> bool:
        """Whether what ``action`` waits for on another stage is done (the validator's rule)."""
        if action.op is Op.FORWARD:
            return k == 0 or (k - 1, action.mb) in self._activations
        if action.op is Op.BACKWARD and not self.stages[k].is_last:
            return (k, action.mb) in self._gradients
        return True

    def _run(self, k: int, action: Action) -> None:
        stage, mb = self.stages[k], action.mb
        if action.op is Op.UPDATE:
            stage.step()
            if self._backwards[k] >= (self._steps[k] + 1) * self.microbatches:
                self._steps[k] += 1
            return
        assert mb is not None
        if action.op is Op.FORWARD:
            x, y = self.data(mb)
            inp = x if k == 0 else self._activations.pop((k - 1, mb))
            out = stage.forward(mb, inp, y, loss_scale=self.loss_scale)
            if stage.is_last:
                self._losses.append(float(out) / self.loss_scale)
            else:
                self._activations[(k, mb)] = out
        elif action.op is Op.BACKWARD:
            grad = None if stage.is_last else self._gradients.pop((k, mb))
            grad_in = stage.backward(mb, grad)
            if grad_in is not None and k > 0:
                self._gradients[(k - 1, mb)] = grad_in
        elif action.op is Op.LOCAL_BACKWARD:
            stage.local_backward(mb)
        else:
            raise ValueError(f"the replay runs F, B, L and U, not {action}")
        if action.op in _BACKWARDS:
            self._backwards[k] += 1

    def train_step(self, x: Tensor, y: Tensor) -> StepMetrics:
        """Run every stage to the end of its next step (``x, y``: that step's batch, which
        ``data`` also gives; the replay reads ``data``, as later steps' forwards run early)."""
        for stage in self.stages:
            stage.module.train()
        target = min(self._steps) + 1
        self._losses = []
        progress = True
        while progress:
            progress = False
            for k in range(len(self.stages)):
                actions = self.schedule.actions[k]
                while (
                    self._steps[k] < target
                    and self._cursor[k] < len(actions)
                    and self._ready(k, actions[self._cursor[k]])
                ):
                    self._run(k, actions[self._cursor[k]])
                    self._cursor[k] += 1
                    progress = True
        if min(self._steps) < target:
            raise RuntimeError(f"{self.schedule.name}: the replay stopped before step {target}")
        losses = self._losses
        return StepMetrics(loss=sum(losses) / len(losses) if losses else float("nan"))


__all__ = ["ScheduleReplay"]
