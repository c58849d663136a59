"""What each piece of a pipeline costs, as plain data the simulator is driven by.

A stage's time goes to the operations of its schedule (forward, backward,
synthetic backward, SG and SI regressions, the optimiser step), to posting
sends, and to the runtime's own bookkeeping between operations (Python,
posting receives, fetching a batch), which the simulator charges as a fixed
``overhead`` per executed action. A message between neighbours arrives
``latency + bytes / bandwidth`` after its send was posted.

All times are seconds per microbatch (per step for the optimiser when it
runs once a step; per optimiser call in general).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

__all__ = ["LinkModel", "PipelineCosts", "StageCosts"]


@dataclass(frozen=True)
class StageCosts:
    """One stage's cost per operation, in seconds.

    ``synth_backward`` is the backward from the stage's own synthetic gradient
    (the SG forward included, as the runtime records it inside the backward
    span); ``si_forward`` is added to the forward of a forward-unlocked stage.
    ``send`` is the sender's cost of posting one message (activation or
    gradient). ``overhead`` is charged once per executed action.
    ``backward_input`` and ``backward_weight`` are the two halves of a split
    (zero-bubble) backward, D and W; by default they add up to ``backward``.
    """

    forward: float = 1.0
    backward: float = 2.0
    synth_backward: float = 2.0
    backward_input: float = 1.0
    backward_weight: float = 1.0
    sg_update: float = 0.0
    si_forward: float = 0.0
    si_update: float = 0.0
    optimizer: float = 0.0
    send: float = 0.0
    overhead: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"stage cost {field.name} must be a finite number >= 0, got {value}"
                )

    def slowed(self, factor: float) -> StageCosts:
        """This stage as a straggler: forwards and backwards take ``factor`` times as long.

        Mirrors the dist runtime's ``--slow-factor``, which sleeps after each
        forward and backward (synthetic ones and both split halves included) in proportion to its
        own duration, and leaves SG/SI updates, the optimiser and sends alone.
        """
        if not factor > 0:
            raise ValueError(f"straggler factor must be > 0, got {factor}")
        return replace(
            self,
            forward=self.forward * factor,
            backward=self.backward * factor,
            synth_backward=self.synth_backward * factor,
            backward_input=self.backward_input * factor,
            backward_weight=self.backward_weight * factor,
        )

    def scaled(self, **factors: float) -> StageCosts:
        """A copy with the named costs multiplied by their factor (``forward=0.5``)."""
        return replace(self, **{name: getattr(self, name) * f for name, f in factors.items()})


@dataclass(frozen=True)
class LinkModel:
    """A point-to-point link: each message arrives ``latency + bytes / bandwidth`` after sending.

    ``bandwidth`` is in bytes per second (``inf``: free); ``message_bytes`` is
    the size of one activation or gradient message of one microbatch.
    """

    latency: float = 0.0
    bandwidth: float = math.inf
    message_bytes: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latency) and self.latency >= 0):
            raise ValueError(f"link latency must be a finite number >= 0, got {self.latency}")
        if not self.bandwidth > 0:
            raise ValueError(f"link bandwidth must be > 0 bytes/s, got {self.bandwidth}")
        if not (math.isfinite(self.message_bytes) and self.message_bytes >= 0):
            raise ValueError(f"message size must be >= 0 bytes, got {self.message_bytes}")

    @property
    def delay(self) -> float:
        """Seconds from a send to its arrival at the neighbour."""
        return self.latency + self.message_bytes / self.bandwidth


@dataclass(frozen=True)
class PipelineCosts:
    """Per-stage costs of a K-stage pipeline and the link between neighbours."""

    stages: tuple[StageCosts, ...]
    link: LinkModel = LinkModel()

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a pipeline needs at least one stage's costs")
        object.__setattr__(self, "stages", tuple(self.stages))

    @classmethod
    def uniform(
        cls, num_stages: int, costs: StageCosts, link: LinkModel | None = None
    ) -> PipelineCosts:
        """``num_stages`` identical stages."""
        if num_stages < 1:
            raise ValueError(f"need at least one stage, got {num_stages}")
        return cls(tuple([costs] * num_stages), link or LinkModel())

    @classmethod
    def of(cls, stages: Sequence[StageCosts], link: LinkModel | None = None) -> PipelineCosts:
        return cls(tuple(stages), link or LinkModel())

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def with_straggler(self, stage: int, factor: float) -> PipelineCosts:
        """The same pipeline with ``stage`` slowed by ``factor`` (see :meth:`StageCosts.slowed`)."""
        if not 0 <= stage < self.num_stages:
            raise ValueError(f"straggler stage {stage} is not a stage of 0..{self.num_stages - 1}")
        stages = list(self.stages)
        stages[stage] = stages[stage].slowed(factor)
        return replace(self, stages=tuple(stages))
