"""Run a pipeline's stages on streams in one process: one host thread per stage.

Why a thread per stage rather than one thread issuing every stage's work in
a dependency-respecting order: the stage code reads some results back to
the host (SG statistics, SI regression losses), and each read waits for that
stage's stream. With one issuing thread every such read would stall the
issue of every other stage's work and drain the GPU; with a thread per stage
only that stage's own thread waits, while the others keep their streams fed.
torch releases the GIL inside its ops and autograd, so the threads overlap
on the host too, and the current stream is thread-local, so each thread
simply keeps its stage's stream current.

The engine is the same on CUDA and on the CPU stand-in
(:mod:`~dnibench.runtimes.streams.standin`); only the streams and the
timebase differ. A stage that raises trips a shared abort that wakes every
waiting neighbour, and the run fails with that stage named. Each stage has
its own watchdog (:class:`~dnibench.runtimes.harness.Watchdog`), as a ``dist``
rank has: a stage that makes no progress for ``timeout_s``, other than
waiting on a neighbour, trips the abort as hung, and a hand-off waits longer
than that, so a hang is blamed on the stage that hung, not on the one
waiting for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dnibench.regimes.stage import Stage
from dnibench.runtimes.driver import MicrobatchData, StageDriver, StepHook
from dnibench.runtimes.harness import RankFailure, Watchdog, describe_span, wait_timeout_s
from dnibench.runtimes.straggler import slow_factor_of
from dnibench.runtimes.streams.handoff import Abort, Inbox, StageAborted
from dnibench.runtimes.streams.stream import StageStream, Timebase
from dnibench.runtimes.streams.timeline import EventTimeline
from dnibench.runtimes.streams.transport import HandoffTransport, Neighbour
from dnibench.schedules import Action

JOIN_GRACE_S = 10.0


class StreamStageFailure(RankFailure):
    """A stage of a streams run raised, hung, or left work undone; the message names it."""


class StageHung(RuntimeError):
    """A stage made no progress for its timeout while not waiting on a neighbour."""


@dataclass
class StageOutcome:
    """What one stage measured: spans on the host clock and its logs."""

    stage: int
    spans: np.ndarray
    log: dict[str, list[float]]


@dataclass(frozen=True)
class EngineConfig:
    """How the stages are driven (the knobs of each stage's :class:`StageDriver`)."""

    forward_locked: bool
    loss_scale: float
    microbatches_per_step: int
    timeout_s: float = 60.0
    spans: bool = True
    slow_stage: int | None = None
    slow_factor: float = 1.0


class StreamEngine:
    """``stages[k]`` runs on ``streams[k]``; ``timebase`` converts their events afterwards.

    The timebase must have been made before any work is issued (on CUDA it
    records the origin events every span is measured from).
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        streams: Sequence[StageStream],
        timebase: Timebase,
        config: EngineConfig,
    ) -> None:
        if len(stages) != len(streams):
            raise ValueError(f"{len(stages)} stages but {len(streams)} streams")
        self.stages = list(stages)
        self.streams = list(streams)
        self.timebase = timebase
        self.config = config
        self.abort = Abort()
        wait_s = wait_timeout_s(config.timeout_s)  # past the watchdog: the hung stage is named
        self.inboxes = [Inbox(k, self.abort, wait_s) for k in range(len(stages))]
        self.transports: list[HandoffTransport] = []
        self.timelines = [EventTimeline(stream, enabled=config.spans) for stream in self.streams]
        self.drivers = [self._driver(k) for k in range(len(stages))]

    def _driver(self, k: int) -> StageDriver:
        """Stage k's driver over its stream's hand-offs and event-timed spans."""
        last = len(self.stages) - 1
        config = self.config
        slow_factor = slow_factor_of(config.slow_stage, config.slow_factor, k)
        if slow_factor > 1.0 and not self.streams[k].executes_inline:
            raise ValueError(
                "slow_factor needs the CPU stand-in: a host sleep does not slow a CUDA stream"
            )
        streams, inboxes = self.streams, self.inboxes
        transport = HandoffTransport(
            k,
            streams[k],
            inboxes[k],
            self.abort,
            up=Neighbour(inboxes[k - 1], streams[k - 1].device) if k > 0 else None,
            down=Neighbour(inboxes[k + 1], streams[k + 1].device) if k < last else None,
        )
        self.transports.append(transport)
        return StageDriver(
            self.stages[k],
            transport,
            self.timelines[k],
            loss_scale=config.loss_scale,
            forward_locked=config.forward_locked,
            microbatches_per_step=config.microbatches_per_step,
            slow_factor=slow_factor,
        )

    def _body(
        self,
        k: int,
        actions: Sequence[Action],
        data: MicrobatchData,
        on_step: StepHook | None,
    ) -> None:
        transport = self.transports[k]

        def hung(seconds: float) -> None:
            last = self.timelines[k].last()
            where = "before its first span" if last is None else describe_span(*last)
            self.abort.trip(
                k,
                StageHung(
                    f"stage {k} hung: no progress for {seconds:.0f} s (timeout_s "
                    f"{self.config.timeout_s:g}), stopped {where}"
                ),
            )

        try:
            with (
                Watchdog(
                    self.config.timeout_s,
                    lambda: transport.actions,
                    hung,
                    lambda: transport.waiting,
                ),
                self.streams[k].activate(),  # the current stream is thread-local
            ):
                self.drivers[k].run(actions, data, on_step)
        except BaseException as error:  # every failure must reach the main thread
            self.abort.trip(k, error)

    def run(
        self,
        actions: Sequence[Sequence[Action]],
        data: Sequence[MicrobatchData],
        *,
        on_step: Sequence[StepHook | None] | None = None,
        deadline_s: float | None = None,
    ) -> list[StageOutcome]:
        """Run ``actions[k]`` on stage k, reading microbatches from ``data[k]``.

        ``on_step[k](step)``, where given, fires as stage k ends a step.

        Raises :class:`StreamStageFailure` naming the first stage that failed
        (or that exceeded ``deadline_s``) after every thread has stopped.
        """
        if not len(actions) == len(data) == len(self.stages):
            raise ValueError(
                f"{len(actions)} action lists and {len(data)} data sources "
                f"for {len(self.stages)} stages"
            )
        threads = []
        for k, stage_actions in enumerate(actions):
            hook = None if on_step is None else on_step[k]
            thread = threading.Thread(
                target=self._body,
                args=(k, stage_actions, data[k], hook),
                name=f"dnibench-stage-{k}",
                daemon=True,
            )
            threads.append(thread)
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            self._join(threads, started, deadline_s)
        except BaseException as error:  # Ctrl-C: stop the stage threads before leaving
            self.abort.trip(-1, error)
            raise
        self._raise_failure()
        for stream in self.streams:
            stream.synchronize()
        self._check_drained()
        return [self._outcome(k) for k in range(len(self.stages))]

    def _join(
        self, threads: list[threading.Thread], started: float, deadline_s: float | None
    ) -> None:
        """Wait for every thread; on a failure or the deadline give the rest a grace period."""
        while not self.abort.raised:
            alive = [thread for thread in threads if thread.is_alive()]
            if not alive:
                return
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                self.abort.trip(-1, TimeoutError(f"the run exceeded {deadline_s:g} s"))
                break
            alive[0].join(0.05)
        grace = time.monotonic() + JOIN_GRACE_S
        for thread in threads:
            thread.join(max(0.0, grace - time.monotonic()))

    def _raise_failure(self) -> None:
        error, stage = self.abort.error, self.abort.stage
        if error is None:
            return
        assert stage is not None
        if stage < 0:
            raise StreamStageFailure(f"streams run stopped: {error}", stage=-1) from error
        if isinstance(error, StageAborted | StageHung):  # the message names the stage
            raise StreamStageFailure(str(error), stage=stage) from error
        raise StreamStageFailure(
            f"stage {stage} failed: {type(error).__name__}: {error}", stage=stage
        ) from error

    def _check_drained(self) -> None:
        for inbox in self.inboxes:
            if len(inbox):
                raise StreamStageFailure(
                    f"stage {inbox.owner} was handed {len(inbox)} tensors it never used: the "
                    "schedule and the hand-offs disagree",
                    stage=inbox.owner,
                )

    def _outcome(self, k: int) -> StageOutcome:
        with torch.no_grad():
            spans = self.timelines[k].to_array(self.timebase)
        log = self.drivers[k].log.floats(self.config.loss_scale)
        return StageOutcome(stage=k, spans=spans, log=log)
