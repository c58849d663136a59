"""Pipeline schedules as plain data: per-stage lists of actions for one step.

A schedule says, for every stage, which operation of :mod:`dnibench.regimes.stage`
runs on which microbatch, and in what order. Keeping it as data (in the
spirit of ``torch.distributed.pipelining``'s ``1F0``/``0B3`` action lists)
lets tests check completeness, deadlock-freedom and message order without
starting a single process, and lets every runtime share one definition of
GPipe, 1F1B or DNI instead of re-deriving it in its own loop.

The cross-stage dependency rules live here too (:meth:`Schedule.dependencies`),
so the validator and the timeline simulator cannot disagree about them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass


class Op(enum.StrEnum):
    """One stage operation; the value is the letter used in action strings."""

    FORWARD = "F"
    """Stage forward of microbatch i. When the schedule is forward-locked, stage
    k > 0 needs stage k-1's activation of i (its F of i)."""

    BACKWARD = "B"
    """True backward of i. Stage k < K-1 needs dL/dh_k(i) from stage k+1 (its B
    or S of i); the last stage starts from the loss. Sends dL/dh_{k-1} upstream."""

    SYNTH_BACKWARD = "S"
    """Backward of i from the stage's own synthetic gradient: needs nothing from
    downstream. Sends its delta upstream exactly like B."""

    SG_UPDATE = "G"
    """Regress stage k's SG onto the delta for i that stage k+1 sent: needs stage
    k+1's B or S of i, and this stage's own S of i."""

    SI_UPDATE = "I"
    """Complete unlock: regress stage k's SI onto the real h_{k-1}(i), which
    arrives when stage k-1 has done its F of i."""

    UPDATE = "U"
    """Optimiser step on the stage's own parameters; concerns no microbatch."""

    BACKWARD_INPUT = "D"
    """Zero-bubble first half of a true backward of i: only dL/dh_{k-1}(i), sent
    upstream like B's. Needs what B needs (stage k+1's B, S or D of i below the
    last stage), so the gradient reaches the stage above a whole W earlier."""

    BACKWARD_WEIGHT = "W"
    """Zero-bubble second half: the parameter gradients of i, from what the
    stage's own D of i kept. Needs nothing from another stage, which is why a
    schedule may defer it into what would otherwise be a bubble."""

    LOCAL_BACKWARD = "L"
    """Backward of i from the stage's own loss (DGL: an auxiliary head's; the true loss on
    the last stage). Needs nothing from another stage and sends nothing upstream."""


_SENDS_DELTA = frozenset({Op.BACKWARD, Op.SYNTH_BACKWARD, Op.BACKWARD_INPUT})
_ACTION_RE = re.compile(r"([A-Z])(0|[1-9][0-9]*)?")


@dataclass(frozen=True)
class Action:
    """``op`` applied to microbatch ``mb`` (``None`` only for :attr:`Op.UPDATE`).

    ``str(action)`` is the compact form used in schedule listings and tests
    (``"F3"``, ``"S0"``, ``"U"``); :meth:`parse` reads it back.
    """

    op: Op
    mb: int | None = None

    def __post_init__(self) -> None:
        # Reject malformed actions at construction so that no schedule can
        # hold an update tied to a microbatch or a forward tied to none.
        if not isinstance(self.op, Op):
            raise TypeError(f"action op must be an Op, got {self.op!r}")
        if self.op is Op.UPDATE:
            if self.mb is not None:
                raise ValueError(f"U concerns no microbatch, got microbatch {self.mb}")
        elif self.mb is None:
            raise ValueError(f"{self.op.value} needs a microbatch")
        elif isinstance(self.mb, bool) or not isinstance(self.mb, int) or self.mb < 0:
            raise ValueError(f"microbatch must be a non-negative int, got {self.mb!r}")

    def __str__(self) -> str:
        return self.op.value if self.mb is None else f"{self.op.value}{self.mb}"

    @classmethod
    def parse(cls, text: str) -> Action:
        """Read ``"F3"``, ``"S0"`` or ``"U"`` back into an :class:`Action`."""
        match = _ACTION_RE.fullmatch(text.strip())
        letters = "".join(op.value for op in Op)
        if match is None:
            raise ValueError(
                f"cannot parse action {text!r}: expected one of the letters {letters} "
                f"followed by a microbatch number (e.g. 'F3'), or 'U' alone"
            )
        letter, number = match.groups()
        try:
            op = Op(letter)
        except ValueError:
            raise ValueError(
                f"cannot parse action {text!r}: unknown op {letter!r}; ops are {letters}"
            ) from None
        mb = None if number is None else int(number)
        try:
            return cls(op, mb)
        except ValueError as error:
            raise ValueError(f"cannot parse action {text!r}: {error}") from None


@dataclass(frozen=True)
class Dependency:
    """What an action waits for on another stage: one of ``ops`` of ``mb`` there."""

    stage: int
    ops: frozenset[Op]
    mb: int

    def __str__(self) -> str:
        names = sorted(f"{op.value}{self.mb}" for op in self.ops)
        return f"stage {self.stage}'s {' or '.join(names)}"


@dataclass(frozen=True)
class Schedule:
    """Every stage's actions, in execution order, for one training step.

    ``forward_locked``: F on stage k > 0 waits for stage k-1's activation.
    ``staleness``: for unlocked schedules, how many microbatches may still be
    awaiting their SG/SI update when a new forward starts (``None`` for
    backprop, where there is nothing to be stale).
    """

    name: str
    num_stages: int
    microbatches: int
    actions: tuple[tuple[Action, ...], ...]
    forward_locked: bool = True
    staleness: int | None = None

    def __post_init__(self) -> None:
        # Only the shape is checked here; whether the lists make a correct step
        # is the validator's job, so tests can still build broken schedules.
        if self.num_stages < 1:
            raise ValueError(f"a schedule needs at least one stage, got {self.num_stages}")
        if self.microbatches < 1:
            raise ValueError(f"a schedule needs at least one microbatch, got {self.microbatches}")
        if len(self.actions) != self.num_stages:
            raise ValueError(
                f"schedule {self.name!r} has {len(self.actions)} action lists "
                f"for {self.num_stages} stages"
            )
        if self.staleness is not None and self.staleness < 0:
            raise ValueError(f"staleness must be >= 0, got {self.staleness}")
        object.__setattr__(self, "actions", tuple(tuple(stage) for stage in self.actions))

    @classmethod
    def from_lines(
        cls,
        lines: Sequence[str],
        *,
        microbatches: int,
        name: str = "custom",
        forward_locked: bool = True,
        staleness: int | None = None,
    ) -> Schedule:
        """Build a schedule from one space-separated line per stage, e.g. ``"F0 B0 U"``.

        Meant for tests and docs, where a hand-written schedule reads best as text.
        """
        actions = tuple(tuple(Action.parse(word) for word in line.split()) for line in lines)
        return cls(
            name=name,
            num_stages=len(actions),
            microbatches=microbatches,
            actions=actions,
            forward_locked=forward_locked,
            staleness=staleness,
        )

    def stage_actions(self, k: int) -> tuple[Action, ...]:
        """Stage ``k``'s actions in execution order."""
        if not 0 <= k < self.num_stages:
            raise IndexError(f"stage {k} out of range 0..{self.num_stages - 1}")
        return self.actions[k]

    def dependencies(self, k: int, action: Action) -> tuple[Dependency, ...]:
        """What ``action`` on stage ``k`` waits for on other stages.

        Order within a stage (F before its own B, S before its own G) is the
        list order itself and is not repeated here.
        """
        mb = action.mb
        if mb is None:
            return ()
        last = self.num_stages - 1
        if action.op is Op.FORWARD and self.forward_locked and k > 0:
            return (Dependency(k - 1, frozenset({Op.FORWARD}), mb),)
        if action.op in (Op.BACKWARD, Op.BACKWARD_INPUT, Op.SG_UPDATE) and k < last:
            return (Dependency(k + 1, _SENDS_DELTA, mb),)
        if action.op is Op.SI_UPDATE and k > 0:
            return (Dependency(k - 1, frozenset({Op.FORWARD}), mb),)
        return ()

    def __str__(self) -> str:
        return "\n".join(
            f"stage {k}: {' '.join(str(action) for action in stage)}"
            for k, stage in enumerate(self.actions)
        )
