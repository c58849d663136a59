"""Check a schedule before any process runs it.

A wrong schedule fails late and badly at run time: a dropped microbatch leaves
state behind, a deadlock hangs every rank, and a send order that differs from
the receive order silently pairs one microbatch's gradient with another's
activation (messages on a link carry no tag). Each of these is decidable from
the action lists alone, so :func:`validate` decides them and names the stage
and action at fault.

Checks, in order: completeness, order within each stage, FIFO order on every
link, the staleness bound, and deadlock-freedom by simulation. A split
(zero-bubble) backward counts as a microbatch's backward when both halves
are there: its D (input gradient, the message the stage above waits for) and
its later W (weight gradient), each exactly once.
"""

from __future__ import annotations

from dnibench.schedules.actions import Action, Dependency, Op, Schedule

_BACKWARDS = (Op.BACKWARD, Op.SYNTH_BACKWARD, Op.BACKWARD_INPUT)
"""The ops that send a microbatch's delta upstream; exactly one per microbatch and stage."""
_SELF_STEPPING = (Op.SG_UPDATE, Op.SI_UPDATE)
_COMPLETES = (*_BACKWARDS, Op.LOCAL_BACKWARD)
"""A microbatch's one backward on a stage: one that sends its delta, or a local one (DGL)."""
# The stage's own earlier operation each op needs for the same microbatch.
_NEEDS_FIRST = {
    Op.BACKWARD: Op.FORWARD,
    Op.SYNTH_BACKWARD: Op.FORWARD,
    Op.BACKWARD_INPUT: Op.FORWARD,
    Op.LOCAL_BACKWARD: Op.FORWARD,
    Op.BACKWARD_WEIGHT: Op.BACKWARD_INPUT,
    Op.SG_UPDATE: Op.SYNTH_BACKWARD,
    Op.SI_UPDATE: Op.FORWARD,
}


class ScheduleError(ValueError):
    """A schedule that would drop work, deadlock, mis-pair messages or break its staleness bound."""


def validate(schedule: Schedule) -> None:
    """Raise :class:`ScheduleError` naming the stage and action if ``schedule`` is unsound."""
    for k in range(schedule.num_stages):
        _check_complete(schedule, k)
        _check_stage_order(schedule, k)
    _check_channels(schedule)
    _check_staleness(schedule)
    execution_order(schedule)


def execution_order(schedule: Schedule) -> list[tuple[int, Action]]:
    """One order in which every action can run, each stage following its own list.

    Each stage keeps a cursor into its list and advances whenever the next
    action's cross-stage dependencies are done. If the stages stop with work
    left, that is a deadlock, reported with what every stuck stage waits for.
    Sends are taken to be buffered (they never block), as with async sends.
    """
    cursors = [0] * schedule.num_stages
    done: set[tuple[int, Op, int | None]] = set()
    order: list[tuple[int, Action]] = []

    def unmet(k: int, action: Action) -> list[Dependency]:
        return [
            dep
            for dep in schedule.dependencies(k, action)
            if not any((dep.stage, op, dep.mb) in done for op in dep.ops)
        ]

    progress = True
    while progress:
        progress = False
        for k, stage in enumerate(schedule.actions):
            while cursors[k] < len(stage) and not unmet(k, stage[cursors[k]]):
                action = stage[cursors[k]]
                done.add((k, action.op, action.mb))
                order.append((k, action))
                cursors[k] += 1
                progress = True
    stuck = [
        f"stage {k} waits at {stage[cursors[k]]} for "
        + " and ".join(str(dep) for dep in unmet(k, stage[cursors[k]]))
        for k, stage in enumerate(schedule.actions)
        if cursors[k] < len(stage)
    ]
    if stuck:
        raise ScheduleError(f"deadlock in schedule {schedule.name!r}: " + ", ".join(stuck))
    return order


def _fail(schedule: Schedule, k: int, message: str) -> ScheduleError:
    return ScheduleError(f"schedule {schedule.name!r}, stage {k}: {message}")


def _check_complete(schedule: Schedule, k: int) -> None:
    """Exactly the actions the regime needs, once per microbatch, and a closing U."""
    stage = schedule.actions[k]
    m = schedule.microbatches
    last = k == schedule.num_stages - 1
    forwards: set[int] = set()
    backwards: dict[int, Action] = {}
    sg_updates: set[int] = set()
    si_updates: set[int] = set()
    weights: set[int] = set()
    slots = {
        Op.FORWARD: forwards,
        Op.SG_UPDATE: sg_updates,
        Op.SI_UPDATE: si_updates,
        Op.BACKWARD_WEIGHT: weights,
    }
    for action in stage:
        mb = action.mb
        if mb is None:
            continue
        if mb >= m:
            raise _fail(schedule, k, f"{action} names microbatch {mb}, out of range 0..{m - 1}")
        if action.op in _COMPLETES:
            if mb in backwards:
                first = backwards[mb]
                twice = f"{action} twice" if first == action else f"both {first} and {action}"
                raise _fail(schedule, k, f"duplicate backward of microbatch {mb}: {twice}")
            backwards[mb] = action
        else:
            slot = slots[action.op]
            if mb in slot:
                raise _fail(schedule, k, f"duplicate action: {action} twice")
            slot.add(mb)
        if action.op is Op.SYNTH_BACKWARD and last:
            raise _fail(schedule, k, f"{action} on the last stage, which has the loss: use B{mb}")
        if action.op is Op.SG_UPDATE and last:
            raise _fail(schedule, k, f"{action} on the last stage, which has no synthetic gradient")
        if action.op is Op.SI_UPDATE and k == 0:
            raise _fail(schedule, k, f"{action} on the first stage, which has no synthetic input")
        if action.op is Op.SI_UPDATE and schedule.forward_locked:
            raise _fail(schedule, k, f"{action} in a forward-locked schedule, which has no SI")
        if action.op is Op.BACKWARD_INPUT and not schedule.forward_locked:
            raise _fail(schedule, k, f"{action} in an unlocked schedule: D/W split a true backward")

    for i in range(m):
        dropped = f"drops microbatch {i}: "
        if i not in forwards:
            raise _fail(schedule, k, dropped + f"no F{i}")
        if i not in backwards:
            options = f"B{i} or D{i}" if last else f"B{i}, D{i} or S{i}"
            raise _fail(schedule, k, dropped + f"no {options}")
        split = backwards[i].op is Op.BACKWARD_INPUT
        if split and i not in weights:
            raise _fail(schedule, k, dropped + f"D{i} without W{i}: its weight gradient never runs")
        if not split and i in weights:
            raise _fail(
                schedule, k, f"W{i} but {backwards[i]} is not a split backward: use D{i} ... W{i}"
            )
        synthetic = backwards[i].op is Op.SYNTH_BACKWARD
        if synthetic and i not in sg_updates:
            raise _fail(schedule, k, dropped + f"S{i} without G{i}, so the SG never sees its delta")
        if not synthetic and i in sg_updates:
            raise _fail(schedule, k, f"G{i} but B{i} is a true backward: no SG output to regress")
        if not schedule.forward_locked and k > 0 and i not in si_updates:
            raise _fail(
                schedule, k, dropped + f"no I{i}; forward-unlocked stages must train their SI"
            )

    updates = [pos for pos, action in enumerate(stage) if action.op is Op.UPDATE]
    if not updates:
        raise _fail(schedule, k, "no U: the stage never applies its gradients")
    for action in stage[updates[-1] + 1 :]:
        if action.op not in _SELF_STEPPING:
            raise _fail(
                schedule,
                k,
                f"{action} after the last U: the list must end with U (only G and I, "
                "whose modules step their own optimisers, may follow it)",
            )


def _check_stage_order(schedule: Schedule, k: int) -> None:
    """Each microbatch's own operations in the order the stage's state needs them.

    F before its backward (B, D or S); D before W (W reuses what D kept);
    S before G (the SG output to regress is made by S); F before I (the stage
    keeps x for its SI from its forward).
    """
    position = {(a.op, a.mb): pos for pos, a in enumerate(schedule.actions[k])}
    for (op, mb), pos in position.items():
        before = _NEEDS_FIRST.get(op)
        if before is not None and position.get((before, mb), -1) > pos:
            raise _fail(schedule, k, f"{op.value}{mb} comes before {before.value}{mb}")


def _mbs(schedule: Schedule, k: int, ops: tuple[Op, ...]) -> list[int]:
    return [a.mb for a in schedule.actions[k] if a.op in ops and a.mb is not None]


def _check_channels(schedule: Schedule) -> None:
    """Consumers must read each link in the order its producer writes it.

    Messages carry no microbatch tag, so the n-th receive gets the n-th send:
    activations go down in the sender's F order and are read by F (forward
    locked) or I (unlocked); deltas go up in the B/S order of the stage below
    and are read by B, D or G.
    """
    activation_readers = (Op.FORWARD,) if schedule.forward_locked else (Op.SI_UPDATE,)
    for k in range(schedule.num_stages - 1):
        _compare_link(schedule, "activations", k, k + 1, (Op.FORWARD,), activation_readers, "F")
        readers = (Op.BACKWARD, Op.BACKWARD_INPUT, Op.SG_UPDATE)
        _compare_link(schedule, "deltas", k + 1, k, _BACKWARDS, readers, "B/D/S")


def _compare_link(
    schedule: Schedule,
    what: str,
    sender: int,
    receiver: int,
    send_ops: tuple[Op, ...],
    read_ops: tuple[Op, ...],
    send_name: str,
) -> None:
    sent = _mbs(schedule, sender, send_ops)
    read = [a for a in schedule.actions[receiver] if a.op in read_ops]
    for n, (mb, action) in enumerate(zip(sent, read, strict=False)):
        if action.mb != mb:
            raise ScheduleError(
                f"schedule {schedule.name!r}: {what} from stage {sender} to stage {receiver} "
                f"out of order: stage {sender} sends microbatch {mb} as its message {n} "
                f"({send_name} order {' '.join(map(str, sent))}) but stage {receiver} reads "
                f"it at {action} (order {' '.join(str(a) for a in read)}); messages carry "
                "no tag, so the two orders must match"
            )


def _check_staleness(schedule: Schedule) -> None:
    """Before F j, every G i and I i with i < j - staleness must be done on the stage."""
    if schedule.staleness is None:
        return
    bound = schedule.staleness
    for k, stage in enumerate(schedule.actions):
        pending: dict[int, list[Action]] = {}
        for action in stage:
            if action.op in _SELF_STEPPING and action.mb is not None:
                pending.setdefault(action.mb, []).append(action)
        for action in stage:
            if action.op in _SELF_STEPPING and action.mb is not None:
                pending[action.mb].remove(action)
                if not pending[action.mb]:
                    del pending[action.mb]
            elif action.op is Op.FORWARD and action.mb is not None:
                late = sorted(i for i in pending if i < action.mb - bound)
                if late:
                    names = " ".join(str(a) for i in late for a in pending[i])
                    raise _fail(
                        schedule,
                        k,
                        f"F{action.mb} starts before {names}: with staleness {bound}, "
                        f"updates of microbatches below {action.mb - bound} must be done first",
                    )
