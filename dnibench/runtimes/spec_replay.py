"""A pipeline benchmark's whole run replayed in one process, staleness and update order included.

Why: samples to target of a decoupled regime depends on the order in which
the pipeline's stages update, not only on the regime. DNI under a staleness
bound s lets the true delta of microbatch i reach stage k's synthetic-gradient
module as late as just before F(i + s + 1), so the SG that makes microbatch
i + 1's synthetic gradient may not yet have learned from i. The reference
runtime (:class:`~dnibench.runtimes.reference.ReferenceRuntime`) applies
every delta at once (staleness 0) and so trains another trajectory. This
replay runs what a ``dist`` rank runs instead:

- each stage executes its own action list of the whole run, built by the
  same :func:`~dnibench.runtimes.harness.action_stream` the ranks use (so the
  ``G`` / ``I`` updates sit where the staleness bound puts them, and the
  ``U`` where the mode puts them), from the same model, data, seed and loss
  scale (:func:`~dnibench.runtimes.harness.build_for_rank`,
  :func:`~dnibench.runtimes.harness.microbatch_source`,
  :func:`~dnibench.runtimes.harness.loss_scale`);
- stages take turns, each running as far as what it waits for from a
  neighbour is done, with activations and gradients handed over in memory;
- parameters are snapshotted after the update that consumes each grid
  point's samples by the ranks' own
  :class:`~dnibench.runtimes.snapshots.SnapshotTaker`, and the curve is
  composed and evaluated by :func:`~dnibench.runtimes.snapshot_eval.evaluate_snapshots`.

One stage's numbers depend only on its own order of actions and on what its
neighbours handed it, so two runs with the same per-stage orders train the
same parameters bit for bit, whatever the interleaving across stages.

The one thing a ``dist`` run decides at run time: a decoupled stage
regresses its SG on any delta that has *already* arrived before a forward
(and skips the listed ``G`` later), so its order varies between
``G`` as early as possible and ``G`` at the bound. The replay takes the
listed order (every delta at the bound: the pipeline's staleness at its
worst, deterministic). :func:`orders_from_spans` reads the order a ``dist``
run actually took from its spans; replaying that order reproduces the run
exactly (the K = 2 test of ``tests/runtimes/test_spec_replay.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from dnibench.instrument import SpanKind
from dnibench.runtimes.harness import (
    RankResult,
    action_stream,
    build_for_rank,
    loss_scale,
    microbatch_source,
)
from dnibench.runtimes.snapshots import SnapshotTaker, eval_points
from dnibench.runtimes.spec import BenchSpec
from dnibench.schedules import Action, Op

Orders = Sequence[Sequence[Action]]
"""Each stage's actions over the whole run, microbatch ids global across steps."""

_BACKWARDS = frozenset({Op.BACKWARD, Op.SYNTH_BACKWARD, Op.BACKWARD_WEIGHT, Op.LOCAL_BACKWARD})
"""What completes a microbatch's backward (the driver's BACKWARD_OPS)."""


def listed_orders(spec: BenchSpec) -> list[list[Action]]:
    """Each rank's whole-run action list, exactly as the ``dist`` ranks receive it."""
    return [action_stream(spec, rank) for rank in range(spec.world_size)]


def orders_from_spans(spec: BenchSpec, ranks: Sequence[RankResult]) -> list[list[Action]]:
    """The per-stage order a ``dist`` run actually executed, read from its spans.

    Each rank's compute spans, by start time, are its actions: a ``backward``
    span is ``S`` on a stage with a synthetic gradient, ``L`` under a local-loss
    mode (DGL: every stage's backward is its own loss's) and ``B`` elsewhere.
    Needs every span kept (``dropped_spans == 0``).
    """
    by_kind = {
        SpanKind.FORWARD: Op.FORWARD,
        SpanKind.SG_UPDATE: Op.SG_UPDATE,
        SpanKind.SI_UPDATE: Op.SI_UPDATE,
        SpanKind.OPTIMIZER: Op.UPDATE,
        SpanKind.BACKWARD_INPUT: Op.BACKWARD_INPUT,
        SpanKind.BACKWARD_WEIGHT: Op.BACKWARD_WEIGHT,
    }
    rule = spec.mode_row.asynchronous
    local = rule is not None and rule.local_loss
    orders = []
    for rank in sorted(ranks, key=lambda r: r.rank):
        if rank.dropped_spans:
            raise ValueError(f"stage {rank.rank} dropped {rank.dropped_spans} spans")
        synthetic = spec.regime.synthetic_gradients and rank.rank < spec.world_size - 1
        spans = np.asarray(rank.spans)
        order = []
        for row in spans[np.argsort(spans[:, 2], kind="stable")] if len(spans) else []:
            kind, mb = SpanKind(int(row[0])), int(row[1])
            if kind is SpanKind.BACKWARD:
                backward = Op.LOCAL_BACKWARD if local else Op.BACKWARD
                order.append(Action(Op.SYNTH_BACKWARD if synthetic else backward, mb))
            elif kind in by_kind:
                op = by_kind[kind]
                order.append(Action(op, None if op is Op.UPDATE else mb))
        orders.append(order)
    return orders


class _Replay:
    """The stages of ``spec`` running ``orders`` in one process."""

    def __init__(self, spec: BenchSpec, orders: Orders) -> None:
        self.spec = spec
        self.pipeline, stream = build_for_rank(spec)
        self.stages = self.pipeline.stages
        self.orders = [list(order) for order in orders]
        if len(self.orders) != len(self.stages):
            raise ValueError(f"{len(self.orders)} orders for {len(self.stages)} stages")
        self.data = microbatch_source(spec, stream, torch.device("cpu"))
        self.scale = loss_scale(spec)
        self.locked = not spec.regime.synthetic_inputs
        self.activations: dict[tuple[int, int], Tensor] = {}
        self.gradients: dict[tuple[int, int], Tensor] = {}
        self.cursor = [0] * len(self.stages)
        self.backwards = [0] * len(self.stages)
        self.split = [
            frozenset(a.mb for a in order if a.op is Op.BACKWARD_INPUT and a.mb is not None)
            for order in self.orders
        ]
        points = eval_points(spec.eval_every, spec.steps, spec.batch_size)
        self.takers = [
            SnapshotTaker(points, spec.microbatch_size, [(k, stage)], k)
            for k, stage in enumerate(self.stages)
        ]

    def ready(self, k: int, action: Action) -> bool:
        """Whether what ``action`` needs from a neighbour has been handed over."""
        op, mb = action.op, action.mb
        if op is Op.FORWARD:
            return k == 0 or not self.locked or (k - 1, mb) in self.activations
        if op in (Op.BACKWARD, Op.BACKWARD_INPUT) and k < len(self.stages) - 1:
            return (k, mb) in self.gradients
        if op is Op.SG_UPDATE:
            return (k, mb) in self.gradients
        if op is Op.SI_UPDATE:
            return (k - 1, mb) in self.activations
        return True

    def _send_up(self, k: int, mb: int, grad: Tensor | None) -> None:
        if grad is not None and k > 0:
            self.gradients[(k - 1, mb)] = grad

    def run_action(self, k: int, action: Action) -> None:
        stage, op, mb = self.stages[k], action.op, action.mb
        if op is Op.UPDATE:
            stage.step()
            self.takers[k].after_update(self.backwards[k])
            return
        assert mb is not None, action
        if op is Op.FORWARD:
            x, y = self.data(mb)
            if k == 0:
                inp = x
            elif self.locked:
                inp = self.activations.pop((k - 1, mb))
            else:
                inp = stage.synthetic_input(mb, x)
            split = mb in self.split[k]
            if split:
                out = stage.forward(mb, inp, y, loss_scale=self.scale, split_backward=True)
            else:
                out = stage.forward(mb, inp, y, loss_scale=self.scale)
            if not stage.is_last:
                self.activations[(k, mb)] = out
        elif op is Op.BACKWARD:
            grad = None if stage.is_last else self.gradients.pop((k, mb))
            self._send_up(k, mb, stage.backward(mb, grad))
        elif op is Op.BACKWARD_INPUT:
            grad = None if stage.is_last else self.gradients.pop((k, mb))
            self._send_up(k, mb, stage.backward_input(mb, grad))
        elif op is Op.BACKWARD_WEIGHT:
            stage.backward_weight(mb)
        elif op is Op.LOCAL_BACKWARD:
            stage.local_backward(mb)
        elif op is Op.SYNTH_BACKWARD:
            self._send_up(k, mb, stage.synthetic_backward(mb))
        elif op is Op.SG_UPDATE:
            stage.update_synthetic_gradient(mb, self.gradients.pop((k, mb)))
        elif op is Op.SI_UPDATE:
            stage.update_synthetic_input(mb, self.activations.pop((k - 1, mb)))
        else:
            raise ValueError(f"the replay does not run {action}")
        if op in _BACKWARDS:
            self.backwards[k] += 1

    def run(self) -> None:
        """Stages take turns, each as far as it can; stops with an error on a deadlock."""
        for stage in self.stages:
            stage.module.train()
        progress = True
        while progress:
            progress = False
            for k, order in enumerate(self.orders):
                while self.cursor[k] < len(order) and self.ready(k, order[self.cursor[k]]):
                    self.run_action(k, order[self.cursor[k]])
                    self.cursor[k] += 1
                    progress = True
        stuck = [k for k, order in enumerate(self.orders) if self.cursor[k] < len(order)]
        if stuck:
            k = stuck[0]
            raise RuntimeError(
                f"replay deadlocked: stage {k} waits at {self.orders[k][self.cursor[k]]}"
            )


def replay_spec(spec: BenchSpec, orders: Orders | None = None) -> list[RankResult]:
    """Train ``spec`` in one process on ``orders`` (default: the listed ones); one result a stage.

    Each result carries the stage's evaluation snapshots (for
    :func:`~dnibench.runtimes.snapshot_eval.evaluate_snapshots`) and its final
    parameters; no spans, no clocks worth reading (one process ran every stage).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    try:
        replay = _Replay(spec, listed_orders(spec) if orders is None else orders)
        replay.run()
    finally:
        torch.set_num_threads(before)
    return [
        RankResult(
            rank=k,
            spans=np.zeros((0, 4), dtype=np.int64),
            parameters={n: v.detach().clone() for n, v in stage.module.state_dict().items()},
            snapshots=replay.takers[k].snapshots,
            wall_s=math.nan,
        )
        for k, stage in enumerate(replay.stages)
    ]


__all__ = ["Orders", "listed_orders", "orders_from_spans", "replay_spec"]
