"""Compose the stages' snapshots into the full model and evaluate it, off the clock.

After a run, the parent holds every stage's parameter snapshots
(:mod:`~dnibench.runtimes.snapshots`). For each grid point N it loads the
N-th snapshot of every stage into one freshly built copy of the pipeline and
evaluates the whole model on the held-out split with the reference
runtime's own :meth:`~dnibench.runtimes.reference.ReferenceRuntime.evaluate`,
so a pipeline's curve and the reference's are computed by the same code and,
for the exact schedules, agree to the last digit.

Clocks of one point: ``wall_s`` is the latest stage's training wall time at
N (each stage's own copies removed), ``cpu_s`` the CPU seconds of every rank
summed, ``eval_s`` the wall time this evaluation took here. The MLPerf
reading ``wall_with_eval_s`` adds every evaluation up to and including N to
the training wall time, as if each had run in line and stopped the pipeline
(MLPerf's rule: evaluation is on the clock).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dnibench.errors import UserError
from dnibench.runtimes.harness import RankResult, build_for_rank, place_stage
from dnibench.runtimes.held_out import load_held_out
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.runtimes.snapshots import StageSnapshot, eval_points
from dnibench.runtimes.spec import BenchSpec


@dataclass(frozen=True)
class EvalPoint:
    """The full model after ``samples`` samples, evaluated on the held-out split."""

    samples: int
    step: int
    wall_s: float
    wall_with_eval_s: float
    cpu_s: float
    eval_s: float
    copy_s: float
    """Wall seconds the stages spent copying this point's parameters (summed)."""
    train_loss: float
    test_loss: float
    test_accuracy: float


def _train_losses(ranks: Sequence[RankResult], points: Sequence[int], total: int) -> list[float]:
    """Mean training loss the last stage logged between consecutive points (NaN if unlogged)."""
    last = max(ranks, key=lambda r: r.rank)
    losses = last.log.get("losses") or []
    if not losses:
        return [math.nan] * len(points)
    per_entry = total / len(losses)
    means, start = [], 0
    for point in points:
        end = min(len(losses), round(point / per_entry))
        chunk = losses[start:end]
        means.append(sum(chunk) / len(chunk) if chunk else math.nan)
        start = end
    return means


def eval_device(spec: BenchSpec) -> torch.device:
    """Where the composed model is scored: the GPU a streams run trained on, else the CPU (a
    large model's held-out set would take longer to score on the host than to train)."""
    if spec.runtime == "streams" and spec.device != "cpu" and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def evaluate_snapshots(
    spec: BenchSpec, ranks: Sequence[RankResult], held_out: int = 0
) -> list[EvalPoint]:
    """Every grid point of ``spec``'s run, composed from ``ranks``' snapshots and evaluated.

    Evaluates on ``spec.threads`` threads, as the ranks and the reference train, on
    ``held_out`` evenly spaced test examples (0: the whole test split;
    :mod:`~dnibench.runtimes.held_out`).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    try:
        return _evaluate(spec, ranks, held_out)
    finally:
        torch.set_num_threads(before)


def _evaluate(spec: BenchSpec, ranks: Sequence[RankResult], held_out: int) -> list[EvalPoint]:
    points = eval_points(spec.eval_every, spec.steps, spec.batch_size)
    by_point: dict[int, list[StageSnapshot]] = {}
    for rank in ranks:
        for snap in rank.snapshots:
            by_point.setdefault(snap.samples, []).append(snap)
    pipeline, _ = build_for_rank(spec)
    dataset = load_held_out(spec, held_out)
    device = eval_device(spec)
    if device.type != "cpu":  # score a GPU run's model on its GPU, not on the host
        for stage in pipeline.stages:
            place_stage(stage, device)
        dataset = dataclasses.replace(
            dataset, x_test=dataset.x_test.to(device), y_test=dataset.y_test.to(device)
        )
    runtime = ReferenceRuntime(pipeline.stages, spec.regime, spec.microbatches)
    losses = _train_losses(ranks, points, spec.steps * spec.batch_size)
    curve: list[EvalPoint] = []
    eval_total = 0.0
    for point, train_loss in zip(points, losses, strict=True):
        snaps = by_point.get(point, [])
        have = {snap.stage for snap in snaps}
        if have != set(range(len(pipeline.stages))):
            raise UserError(
                f"{spec.name}: the snapshot at {point} samples has stages {sorted(have)} of "
                f"{len(pipeline.stages)}; every stage must snapshot every grid point"
            )
        started = time.perf_counter()
        for snap in snaps:
            pipeline.stages[snap.stage].module.load_state_dict(snap.state)
        with torch.no_grad():
            test_loss, accuracy = runtime.evaluate(dataset.x_test, dataset.y_test)
        eval_s = time.perf_counter() - started
        eval_total += eval_s
        cpu_by_rank: dict[int, float] = {}
        for snap in snaps:
            cpu_by_rank[snap.rank] = max(cpu_by_rank.get(snap.rank, 0.0), snap.cpu_s)
        wall = max(snap.wall_s for snap in snaps)
        curve.append(
            EvalPoint(
                samples=point,
                step=point // spec.batch_size,
                wall_s=wall,
                wall_with_eval_s=wall + eval_total,
                cpu_s=sum(cpu_by_rank.values()),
                eval_s=eval_s,
                copy_s=sum(snap.copy_s for snap in snaps),
                train_loss=train_loss,
                test_loss=test_loss,
                test_accuracy=accuracy,
            )
        )
    return curve


__all__ = ["EvalPoint", "eval_device", "evaluate_snapshots"]
