"""Builders for the schedules dnibench runs, for K stages and m microbatches.

Each builder returns one training step as plain data; runtimes execute each
stage's list in order (and may run a G or I earlier than listed, as soon as
its delta or activation has arrived, but never before the stage's own S or F
of that microbatch). Every builder's output passes
:func:`dnibench.schedules.validate.validate` for any K, m and staleness.

The builders name their schedules for people (``GPipe``); which mode runs
which builder, and the mode's name, is the table's (:mod:`dnibench.modes`).
"""

from __future__ import annotations

from dnibench.schedules.actions import Action, Op, Schedule

_U = Action(Op.UPDATE)


def check_sizes(num_stages: int, microbatches: int, staleness: int = 0) -> None:
    """Refuse sizes no schedule has (a ValueError: a bug, or a spec that skipped its checks)."""
    if num_stages < 1:
        raise ValueError(f"a schedule needs at least one stage, got {num_stages}")
    if microbatches < 1:
        raise ValueError(f"a schedule needs at least one microbatch, got {microbatches}")
    if staleness < 0:
        raise ValueError(f"staleness must be >= 0, got {staleness}")


def _backprop(name: str, stages: list[list[Action]], microbatches: int) -> Schedule:
    return Schedule(
        name=name,
        num_stages=len(stages),
        microbatches=microbatches,
        actions=tuple(tuple(stage) for stage in stages),
        forward_locked=True,
        staleness=None,
    )


def sequential(num_stages: int, microbatches: int) -> Schedule:
    """Naive model parallelism: ``F0 B0 F1 B1 ... U`` on every stage.

    Stage 0 cannot start F1 before its B0, which waits for the whole pipeline,
    so only one microbatch is ever in flight pipeline-wide.
    """
    check_sizes(num_stages, microbatches)
    stage: list[Action] = []
    for i in range(microbatches):
        stage += [Action(Op.FORWARD, i), Action(Op.BACKWARD, i)]
    stage.append(_U)
    return _backprop("Sequential", [list(stage) for _ in range(num_stages)], microbatches)


def gpipe(num_stages: int, microbatches: int) -> Schedule:
    """GPipe: all forwards, then all backwards in the same order, then one update."""
    check_sizes(num_stages, microbatches)
    forwards = [Action(Op.FORWARD, i) for i in range(microbatches)]
    backwards = [Action(Op.BACKWARD, i) for i in range(microbatches)]
    return _backprop(
        "GPipe", [[*forwards, *backwards, _U] for _ in range(num_stages)], microbatches
    )


def one_f_one_b(num_stages: int, microbatches: int) -> Schedule:
    """1F1B: warm-up forwards, then alternate one forward and one backward.

    Stage k runs ``min(m, K-k-1)`` warm-up forwards, so it never holds more
    than K-k microbatches' activations, against GPipe's m.
    """
    check_sizes(num_stages, microbatches)
    stages: list[list[Action]] = []
    for k in range(num_stages):
        warmup = min(microbatches, num_stages - k - 1)
        stage = [Action(Op.FORWARD, i) for i in range(warmup)]
        for j in range(microbatches - warmup):
            stage += [Action(Op.FORWARD, warmup + j), Action(Op.BACKWARD, j)]
        stage += [Action(Op.BACKWARD, j) for j in range(microbatches - warmup, microbatches)]
        stage.append(_U)
        stages.append(stage)
    return _backprop("1F1B", stages, microbatches)


def zero_bubble_h1(num_stages: int, microbatches: int) -> Schedule:
    """ZB-H1 (Qi et al. 2023, "Zero Bubble Pipeline Parallelism"): 1F1B with the backward split.

    Each backward becomes D (input gradient, sent upstream at once) and W
    (weight gradient, needed by nobody else). The gradient then climbs the
    pipeline at the speed of D alone, and W is deferred to fill the bubbles.
    Stage k runs, in order:

    - 1F1B's warm-up: ``min(m, K-k-1)`` forwards;
    - k rounds of ``F D`` with no W (stage k defers k weight passes; the last
      stage, on the critical path, defers the most);
    - ``F D W`` rounds while forwards remain (W of the oldest deferred);
    - ``D W`` rounds for the remaining backwards; then the deferred W's; ``U``.

    Warm-up plus deferral make every stage hold at most ``min(m, K)``
    microbatches between F and W: the peak of 1F1B's first stage, so the
    pipeline's peak activation memory is 1F1B's. With F = D = W = 1 (B = 2),
    K = 3, m = 4 (``render(zero_bubble_h1(3, 4))``)::

        stage 0: F0 F1 F2 .  .  D0 W0 F3 D1 W1 D2 W2 D3 W3
        stage 1: .  F0 F1 .  D0 F2 D1 W0 F3 D2 W1 D3 W2 W3
        stage 2: .  .  F0 D0 F1 D1 F2 D2 W0 F3 D3 W1 W2 W3

    14 units against 1F1B's 18 (bubble 1/7 of the stage time against 1/3):
    only the warm-up bubble is left; the deferred W's fill the drain.
    """
    check_sizes(num_stages, microbatches)
    m = microbatches
    stages: list[list[Action]] = []
    for k in range(num_stages):
        forwards = min(m, num_stages - k - 1)
        stage = [Action(Op.FORWARD, i) for i in range(forwards)]
        inputs = weights = 0
        deferred = min(k, m - forwards)
        for _ in range(deferred):
            stage += [Action(Op.FORWARD, forwards), Action(Op.BACKWARD_INPUT, inputs)]
            forwards += 1
            inputs += 1
        while forwards < m:
            stage += [
                Action(Op.FORWARD, forwards),
                Action(Op.BACKWARD_INPUT, inputs),
                Action(Op.BACKWARD_WEIGHT, weights),
            ]
            forwards, inputs, weights = forwards + 1, inputs + 1, weights + 1
        while inputs < m:
            stage += [Action(Op.BACKWARD_INPUT, inputs), Action(Op.BACKWARD_WEIGHT, weights)]
            inputs, weights = inputs + 1, weights + 1
        stage += [Action(Op.BACKWARD_WEIGHT, j) for j in range(weights, m)]
        stage.append(_U)
        stages.append(stage)
    return _backprop("ZB-H1", stages, microbatches)


def _late_updates(mb: int, *, has_sg: bool, has_si: bool) -> list[Action]:
    """The SG/SI updates of ``mb`` that fall due at one point of an unlocked step.

    SI comes first: its activation comes from upstream, which runs ahead of
    the delta that the SG update waits for.
    """
    updates = [Action(Op.SI_UPDATE, mb)] if has_si else []
    return updates + ([Action(Op.SG_UPDATE, mb)] if has_sg else [])


def _unlocked(
    name: str,
    num_stages: int,
    microbatches: int,
    staleness: int,
    *,
    synthetic_inputs: bool,
    update_every: int = 1,
) -> Schedule:
    """DNI-like step: per microbatch F and backward; SG/SI updates as late as allowed.

    A stage applies its optimiser (``U``) after every ``update_every``
    microbatches (and after the last): 1 updates per microbatch as in the
    paper; m accumulates a whole step, the same optimiser work as GPipe. Either
    way no stage waits for a true gradient before it updates.

    The update of microbatch j must precede F(j + staleness + 1): that is the
    staleness bound. Placing it exactly there leaves the runtime the most room
    to overlap; updates still due at the end of the step close the step, so a
    step leaves no microbatch state behind.
    """
    check_sizes(num_stages, microbatches, staleness)
    if update_every < 1:
        raise ValueError(f"update_every must be >= 1, got {update_every}")
    last = num_stages - 1
    stages: list[list[Action]] = []
    for k in range(num_stages):
        has_sg = k < last
        has_si = synthetic_inputs and k > 0
        backward = Op.SYNTH_BACKWARD if has_sg else Op.BACKWARD
        stage: list[Action] = []
        for i in range(microbatches):
            due = i - staleness - 1
            if due >= 0:
                stage += _late_updates(due, has_sg=has_sg, has_si=has_si)
            stage += [Action(Op.FORWARD, i), Action(backward, i)]
            if (i + 1) % update_every == 0 or i == microbatches - 1:
                stage.append(_U)
        for j in range(max(0, microbatches - staleness - 1), microbatches):
            stage += _late_updates(j, has_sg=has_sg, has_si=has_si)
        stages.append(stage)
    return Schedule(
        name=name,
        num_stages=num_stages,
        microbatches=microbatches,
        actions=tuple(tuple(stage) for stage in stages),
        forward_locked=not synthetic_inputs,
        staleness=staleness,
    )


def dni(num_stages: int, microbatches: int, staleness: int = 0, update_every: int = 1) -> Schedule:
    """DNI: each stage but the last backprops its own synthetic gradient and updates at once.

    The last stage has the true loss and runs ``F i, B i, U``. Forwards stay
    locked: stage k > 0 still needs h_{k-1}(i).
    """
    return _unlocked(
        "DNI",
        num_stages,
        microbatches,
        staleness,
        synthetic_inputs=False,
        update_every=update_every,
    )


def cdni(num_stages: int, microbatches: int, staleness: int = 0, update_every: int = 1) -> Schedule:
    """cDNI: the same step as DNI (the label context changes the SG, not the order)."""
    return _unlocked(
        "cDNI",
        num_stages,
        microbatches,
        staleness,
        synthetic_inputs=False,
        update_every=update_every,
    )


def unlock(
    num_stages: int, microbatches: int, staleness: int = 0, update_every: int = 1
) -> Schedule:
    """Complete unlock: DNI plus an SI update of every stage k > 0; forwards unlocked."""
    return _unlocked(
        "Unlock",
        num_stages,
        microbatches,
        staleness,
        synthetic_inputs=True,
        update_every=update_every,
    )
