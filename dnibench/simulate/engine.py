"""Discrete-event simulation of a pipeline run, doing what the dist runtime does.

Each stage executes its action stream (:mod:`programs`) in order, as
:class:`dnibench.runtimes.driver.StageDriver` does:

- every executed action first pays the stage's per-action ``overhead``;
- a forward-locked ``F`` waits for its activation (``wait_activation``), a
  ``B`` or ``D`` below the last stage for its gradient (``wait_gradient``); a
  stage that is not last posts the activation after its forward, one that is
  not first posts its delta after its backward (after ``D`` for a split
  one), each costing ``send`` on the sender and arriving ``link.delay``
  later; a split backward's ``W`` waits for nothing and sends nothing;
- before each forward, a stage with an SG or SI regresses it on every delta
  (real input) that has already arrived, in microbatch order, and skips the
  listed ``G`` (``I``) later; a listed one still due blocks until its message
  arrives, which is how the staleness bound turns into waiting;
- ``U`` is the optimiser; a step ends at the ``U`` after its m-th backward
  (``B``, ``S`` or ``W``: a split backward ends at its weight half).

Stages advance in global time order (the stage with the earliest clock goes
next), so "has this delta arrived yet?" is answered exactly as the wall
clock would. ``p_update`` < 1 (unlocked regimes only) is the DNI paper's
update probability: each stage skips the backward of a microbatch with
probability 1 - p_update (seeded), sends no delta for it, and the stage above
then has no SG target for that microbatch.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from dnibench.modes import is_unlocked, unlocked_mode_names
from dnibench.simulate.costs import PipelineCosts
from dnibench.simulate.programs import OP_B, OP_D, OP_F, OP_G, OP_I, OP_L, OP_S, OP_W, run_programs

__all__ = ["SimConfig", "SimResult", "SimulationError", "simulate"]

_NEVER = -1.0  # arrival time of a message that will never be sent (skipped backward)


class SimulationError(RuntimeError):
    """The simulated stages could not all finish: the schedule deadlocks."""


@dataclass(frozen=True)
class SimConfig:
    """What to simulate: a regime on K stages, m microbatches per step, ``steps`` steps.

    ``warmup`` steps are simulated but left out of the measured window, as in
    the runtime. ``update_every`` (unlocked regimes) defaults to m, the
    runtime's one optimiser step per training step. ``sees_arrivals``: the
    runtime can tell that a message has arrived without blocking on it, so
    early SG/SI updates happen (nccl); gloo's receives report completion
    only once waited on, so on gloo every update runs where it is listed.
    ``record`` keeps every compute action's (stage, op, start, end).
    """

    schedule: str
    num_stages: int
    microbatches: int
    steps: int = 5
    warmup: int = 2
    staleness: int = 0
    update_every: int | None = None
    p_update: float = 1.0
    seed: int = 0
    microbatch_size: int = 1
    sees_arrivals: bool = True
    record: bool = False

    def __post_init__(self) -> None:
        if self.num_stages < 1 or self.microbatches < 1:
            raise ValueError(
                f"need at least one stage and one microbatch, got K={self.num_stages}, "
                f"m={self.microbatches}"
            )
        if not 0 <= self.warmup < self.steps:
            raise ValueError(
                f"need 0 <= warmup < steps, got warmup={self.warmup}, steps={self.steps}"
            )
        if not 0 < self.p_update <= 1:
            raise ValueError(f"p_update must be in (0, 1], got {self.p_update}")
        if self.p_update < 1 and not is_unlocked(self.schedule):
            raise ValueError(
                f"p_update applies to unlocked regimes ({', '.join(unlocked_mode_names())}), "
                f"not {self.schedule}: "
                "a backprop stage cannot skip a backward that the stage above waits for"
            )
        if self.microbatch_size < 1:
            raise ValueError(f"microbatch_size must be >= 1, got {self.microbatch_size}")


@dataclass
class SimResult:
    """A simulated run: per-stage step ends and, per stage and step, where time went.

    The (K, steps + 1) arrays hold seconds per stage and step (the last column
    is work after the final step, e.g. trailing SG updates). ``timeline``
    holds (stage, op, mb, start, end) of compute actions when recorded.
    """

    config: SimConfig
    costs: PipelineCosts
    step_end: np.ndarray
    busy: np.ndarray
    wait_activation: np.ndarray
    wait_gradient: np.ndarray
    comm: np.ndarray
    overhead: np.ndarray
    peak_in_flight: tuple[int, ...]
    peak_sg_held: tuple[int, ...]
    timeline: list[tuple[int, int, int, float, float]] | None = None


def _draw_skips(config: SimConfig, total: int) -> list[list[bool]] | None:
    if config.p_update >= 1:
        return None
    rng = np.random.default_rng(config.seed)
    return (rng.random((config.num_stages, total)) >= config.p_update).tolist()


def simulate(config: SimConfig, costs: PipelineCosts) -> SimResult:
    """Run the event simulation of ``config`` under ``costs``; see the module docstring."""
    K = config.num_stages
    if costs.num_stages != K:
        raise ValueError(f"costs are for {costs.num_stages} stages, the config has {K}")
    m, steps = config.microbatches, config.steps
    progs = run_programs(
        config.schedule, K, m, steps, staleness=config.staleness, update_every=config.update_every
    )
    total = m * steps
    last = K - 1
    locked = progs.forward_locked
    unlocked = progs.unlocked
    delay = costs.link.delay
    st = costs.stages
    c_f = [s.forward + (s.si_forward if not locked and k > 0 else 0.0) for k, s in enumerate(st)]
    c_b = [s.backward for s in st]
    c_s = [s.synth_backward for s in st]
    c_d = [s.backward_input for s in st]
    c_w = [s.backward_weight for s in st]
    c_g = [s.sg_update for s in st]
    c_i = [s.si_update for s in st]
    c_u = [s.optimizer for s in st]
    c_send = [s.send for s in st]
    c_o = [s.overhead for s in st]
    has_sg = [unlocked and k < last for k in range(K)]
    has_si = [unlocked and not locked and k > 0 for k in range(K)]
    consumes = [(has_sg[k] or has_si[k]) and config.sees_arrivals for k in range(K)]
    skips = _draw_skips(config, total)

    width = steps + 1
    busy = [0.0] * (K * width)
    w_act = [0.0] * (K * width)
    w_grad = [0.0] * (K * width)
    comm = [0.0] * (K * width)
    ovh = [0.0] * (K * width)
    step_end = np.full((K, steps), np.nan)
    # act[k][mb]: when h_k(mb) reaches stage k+1; grad[k][mb]: when its delta reaches stage k.
    act: list[list[float | None]] = [[None] * total for _ in range(max(K - 1, 0))]
    grad: list[list[float | None]] = [[None] * total for _ in range(max(K - 1, 0))]
    pc = [0] * K
    clock = [0.0] * K
    step = [0] * K
    acc = [k * width for k in range(K)]
    done_b = [0] * K
    phase = [0] * K  # 0 new action, 1 consuming deltas, 2 consuming inputs, 3 executing
    queue: list[list[int]] = [[] for _ in range(K)]
    qpos = [0] * K
    synth: list[set[int]] = [set() for _ in range(K)]
    forwarded: list[set[int]] = [set() for _ in range(K)]
    early: list[set[int]] = [set() for _ in range(K)]
    live, peak, held, peak_held = [0] * K, [0] * K, [0] * K, [0] * K
    blocked = [-1] * K  # 2*mb waiting for an activation, 2*mb+1 for a gradient
    trained = [False] * K
    timeline: list[tuple[int, int, int, float, float]] | None = [] if config.record else None

    heap = [(0.0, k) for k in range(K)]
    heapq.heapify(heap)
    while heap:
        _, k = heapq.heappop(heap)
        ops, mbs = progs.lists[progs.stage_list[k]]
        n = len(ops)
        c = clock[k]
        while pc[k] < n:
            if heap and c > heap[0][0]:
                heapq.heappush(heap, (c, k))
                break
            p = pc[k]
            op, mb = ops[p], mbs[p]
            ph = phase[k]
            if ph == 0:
                if op in (OP_G, OP_I) and mb * 8 + op in early[k]:
                    early[k].discard(mb * 8 + op)
                    pc[k] = p + 1
                    continue
                if op == OP_F and consumes[k]:
                    queue[k] = sorted(synth[k])
                    qpos[k] = 0
                    phase[k] = 1
                    continue
                c += c_o[k]
                ovh[acc[k]] += c_o[k]
                phase[k] = 3
                continue
            if ph in (1, 2):
                q, i = queue[k], qpos[k]
                if i < len(q):
                    j = q[i]
                    qpos[k] = i + 1
                    arrived = grad[k][j] if ph == 1 else act[k - 1][j]
                    if arrived is not None and arrived <= c:
                        if ph == 1:
                            synth[k].discard(j)
                            held[k] -= 1
                            early[k].add(j * 8 + OP_G)
                            cost, kind = c_g[k], OP_G
                        else:
                            forwarded[k].discard(j)
                            early[k].add(j * 8 + OP_I)
                            cost, kind = c_i[k], OP_I
                        if arrived != _NEVER:
                            c += c_o[k]
                            ovh[acc[k]] += c_o[k]
                            if timeline is not None:
                                timeline.append((k, kind, j, c, c + cost))
                            c += cost
                            busy[acc[k]] += cost
                    continue
                if ph == 1 and has_si[k]:
                    queue[k] = sorted(forwarded[k])
                    qpos[k] = 0
                    phase[k] = 2
                    continue
                c += c_o[k]
                ovh[acc[k]] += c_o[k]
                phase[k] = 3
                continue
            # phase 3: wait for what the action needs, then run it.
            if op in (OP_F, OP_I):
                if op == OP_I or (locked and k > 0):
                    arrived = act[k - 1][mb]
                    if arrived is None:
                        blocked[k] = 2 * mb
                        break
                    if arrived > c:
                        w_act[acc[k]] += arrived - c
                        c = arrived
            elif (op in (OP_B, OP_D) and k < last) or op == OP_G:
                arrived = grad[k][mb]
                if arrived is None:
                    blocked[k] = 2 * mb + 1
                    break
                if arrived > c:
                    w_grad[acc[k]] += arrived - c
                    c = arrived
            start = c
            computed: float | None = None  # end of this action's compute, if it computed
            if op == OP_F:
                c += c_f[k]
                busy[acc[k]] += c_f[k]
                computed = c
                live[k] += 1
                peak[k] = max(peak[k], live[k])
                if has_sg[k]:
                    held[k] += 1
                    peak_held[k] = max(peak_held[k], held[k])
                if has_si[k]:
                    forwarded[k].add(mb)
                if k < last:
                    c += c_send[k]
                    comm[acc[k]] += c_send[k]
                    act[k][mb] = c + delay
                    if blocked[k + 1] == 2 * mb:
                        blocked[k + 1] = -1
                        heapq.heappush(heap, (clock[k + 1], k + 1))
            elif op in (OP_B, OP_S):
                live[k] -= 1
                done_b[k] += 1
                skipped = skips is not None and skips[k][mb]
                if not skipped:
                    cost = c_b[k] if op == OP_B else c_s[k]
                    c += cost
                    busy[acc[k]] += cost
                    computed = c
                    trained[k] = True
                    if op == OP_S:
                        synth[k].add(mb)
                if k > 0:
                    if skipped:
                        grad[k - 1][mb] = _NEVER
                    else:
                        c += c_send[k]
                        comm[acc[k]] += c_send[k]
                        grad[k - 1][mb] = c + delay
                    if blocked[k - 1] == 2 * mb + 1:
                        blocked[k - 1] = -1
                        heapq.heappush(heap, (clock[k - 1], k - 1))
            elif op == OP_D:  # the input half: sends the delta like B, holds the graph until W
                c += c_d[k]
                busy[acc[k]] += c_d[k]
                computed = c
                if k > 0:
                    c += c_send[k]
                    comm[acc[k]] += c_send[k]
                    grad[k - 1][mb] = c + delay
                    if blocked[k - 1] == 2 * mb + 1:
                        blocked[k - 1] = -1
                        heapq.heappush(heap, (clock[k - 1], k - 1))
            elif op == OP_W:  # the weight half: ends the microbatch's backward
                live[k] -= 1
                done_b[k] += 1
                c += c_w[k]
                busy[acc[k]] += c_w[k]
                computed = c
            elif op == OP_L:  # DGL's local backward: no wait, nothing sent
                live[k] -= 1
                done_b[k] += 1
                c += c_b[k]
                busy[acc[k]] += c_b[k]
                computed = c
            elif op == OP_G:
                synth[k].discard(mb)
                held[k] -= 1
                if grad[k][mb] != _NEVER:
                    c += c_g[k]
                    busy[acc[k]] += c_g[k]
                    computed = c
            elif op == OP_I:
                forwarded[k].discard(mb)
                c += c_i[k]
                busy[acc[k]] += c_i[k]
                computed = c
            else:  # OP_U
                if trained[k] or skips is None:
                    c += c_u[k]
                    busy[acc[k]] += c_u[k]
                    computed = c
                    trained[k] = False
                if done_b[k] >= (step[k] + 1) * m and step[k] < steps:
                    step_end[k, step[k]] = c
                    step[k] += 1
                    acc[k] = k * width + step[k]
            if timeline is not None and computed is not None:
                timeline.append((k, op, mb, start, computed))
            pc[k] = p + 1
            phase[k] = 0
        clock[k] = c
    stuck = [k for k in range(K) if pc[k] < len(progs.lists[progs.stage_list[k]])]
    if stuck:
        raise SimulationError(
            f"{config.schedule} on {K} stages deadlocked: stages {stuck[:8]} never finished"
        )

    def grid(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=float).reshape(K, width)

    return SimResult(
        config=config,
        costs=costs,
        step_end=step_end,
        busy=grid(busy),
        wait_activation=grid(w_act),
        wait_gradient=grid(w_grad),
        comm=grid(comm),
        overhead=grid(ovh),
        peak_in_flight=tuple(peak),
        peak_sg_held=tuple(peak_held),
        timeline=timeline,
    )
