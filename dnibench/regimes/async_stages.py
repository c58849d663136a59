"""Turn a pipeline's built stages into the stages of an asynchronous mode.

Every runtime builds its stages from the same seed (:mod:`dnibench.pipeline`);
an asynchronous mode then swaps each for the stage class of its rule, keeping
the module, loss and optimiser (so the initial weights are the exact
schedules'), and applies the mode's learning-rate rule. One dispatch, so a
new rule (or model family, for DGL's heads) is one branch here.
"""

from __future__ import annotations

from dnibench.regimes.asynchronous import AsyncRule, Versions
from dnibench.regimes.local_loss import local_loss_stages
from dnibench.regimes.pipemare import PipeMareStage
from dnibench.regimes.stage import Stage
from dnibench.regimes.weight_versions import VersionedStage


def asynchronous_stages(
    stages: list[Stage],
    rule: AsyncRule,
    microbatches: int,
    *,
    shapes: list[tuple[int, ...]],
    num_classes: int,
    task: str,
    seed: int,
) -> list[Stage]:
    """``stages`` under ``rule`` with ``microbatches`` per step.

    ``shapes`` (each stage's per-example output), ``num_classes``, ``task`` and
    ``seed`` size and draw DGL's auxiliary heads.

    The learning-rate rule: where the optimiser runs after every microbatch,
    each parameter group's rate is divided by ``microbatches`` (m updates of
    rate lr/m per step against the flushing schedules' one of rate lr).
    """
    if rule.local_loss:
        return local_loss_stages(stages, shapes, num_classes, task, seed)
    converted: list[Stage] = []
    for stage in stages:
        if rule.update_every_microbatch:
            for group in stage.optimizer.param_groups:
                group["lr"] = group["lr"] / microbatches
        if rule.stashes:
            converted.append(VersionedStage(stage, rule, microbatches))
        elif rule.versions is Versions.UNSTASHED:
            converted.append(PipeMareStage(stage, rule, microbatches))
        else:
            raise ValueError(f"no stage class for {rule}")
    return converted


__all__ = ["asynchronous_stages"]
