"""Every mode dnibench runs, as one table.

A *mode* is what a pipeline benchmark runs (``BenchSpec.mode``, ``bench
--mode``, the suite key ``mode``): one of dnibench's own exact schedules, a
decoupled regime with its schedule, one of PyTorch's schedules as a peer, or
the single-process baseline. Each row of :data:`MODES` says everything the
rest of the code needs to know about one: its family, the schedule builder
and regime, whether it is unlocked, how many processes and microbatches it
takes, which runtimes run it, and what the simulator needs. Code elsewhere
reads the row (``get_mode(name).unlocked``) or a selector
(:func:`unlocked_mode_names`) instead of writing the names out, so adding a
mode is adding a row here (see docs/vocabulary.md).

The table names builders from :mod:`dnibench.schedules` and regimes from
:mod:`dnibench.regimes`; :mod:`dnibench.runtimes` reads it. It imports no
torch, so specs validate modes without loading ``torch.distributed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from dnibench.errors import unknown_name
from dnibench.regimes.asynchronous import AsyncRule, Versions
from dnibench.regimes.regime import REGIMES, Regime
from dnibench.schedules import async_builders, builders
from dnibench.schedules.actions import Schedule


class Family(Enum):
    """What kind of thing a mode is; reports group and compare modes by family."""

    #: dnibench's own schedules of exact backpropagation (sequential, GPipe, 1F1B, ZB-H1).
    OWN = "own exact schedule"
    #: One of torch.distributed.pipelining's schedules, run as a peer of an own schedule.
    PEER = "PyTorch peer"
    #: A regime that removes locks (DNI, cDNI, complete unlock), with its own schedule.
    DECOUPLED = "decoupled regime"
    #: The whole model in one process: the baseline the hardware-limit efficiency divides by.
    SINGLE = "single-process baseline"
    #: Asynchronous pipelines (PipeDream, PipeDream-2BW, PipeMare): no flush, gradients on
    #: stale weight versions; and synchronous DGL, local losses (docs/async.md).
    ASYNC = "asynchronous"


class MicrobatchRule(Enum):
    """How few microbatches a mode accepts (checked when a spec is built, so a suite fails
    at load rather than inside a rank)."""

    ANY = "any number of microbatches"
    #: PyTorch's Schedule1F1B and ScheduleDualPipeV constructors refuse m < (virtual) stages.
    AT_LEAST_STAGES = "at least as many microbatches as stages"


class StageLists(Enum):
    """Which stages of a K-stage schedule run the same action list, so the simulator builds
    one small schedule and maps every stage to one of its lists."""

    #: Every stage runs the same list (sequential, GPipe, the one-stage baseline).
    SAME = "same"
    #: A stage's list depends on its warm-up, min(m, K - k - 1) (1F1B, ZB-H1).
    WARMUP = "warmup"
    #: The first and last stages differ from the middle ones (the unlocked schedules).
    ENDS = "ends"


#: The runtimes (``BenchSpec.runtime``, plus the single-process reference that the
#: ``train`` kind runs and that the tests hold the other two to).
DIST, STREAMS, REFERENCE = "dist", "streams", "reference"
BENCH_RUNTIMES = (DIST, STREAMS)

Builder = Callable[..., Schedule]


@dataclass(frozen=True)
class Mode:
    """One row of the table: everything dnibench needs to know about one mode.

    World size: one process per stage (``BenchSpec.stages`` counts ranks), one
    for ``SINGLE``; a peer holds ``stages_per_rank`` virtual stages on each
    rank, so it splits the model into ranks x ``stages_per_rank`` stages.
    """

    name: str
    family: Family
    summary: str
    regime: Regime = REGIMES["backprop"]
    #: Builds one step for (K, m) (decoupled: also staleness, update_every); None for peers.
    builder: Builder | None = None
    #: The runtimes that run it; ``reference`` where its trajectory is the reference's.
    runtimes: tuple[str, ...] = (DIST, STREAMS, REFERENCE)
    microbatch_rule: MicrobatchRule = MicrobatchRule.ANY
    #: Peers only: the torch.distributed.pipelining class, virtual stages per rank, where
    #: they go (``loop``: r, r + K, ...; ``v``: r and 2K - 1 - r), and whether the class
    #: takes a list of stages (``PipelineScheduleMulti``, whose rounds must divide m).
    torch_class: str | None = None
    stages_per_rank: int = 1
    placement: str = "loop"
    multi: bool = False
    #: The backward is split into an input part and a weight part (zero-bubble schedules).
    split_backward: bool = False
    #: The simulator: whether it has a program for this mode, and how its stages share lists.
    simulated: bool = False
    stage_lists: StageLists = StageLists.SAME
    #: A peer the simulator models with one of dnibench's schedules (same order of work).
    simulated_as: str | None = None
    #: Asynchronous modes only: which weight versions microbatches use, and when updates run.
    asynchronous: AsyncRule | None = None

    @property
    def unlocked(self) -> bool:
        """Stages update without waiting for a true gradient (synthetic gradients)."""
        return self.regime.synthetic_gradients

    @property
    def min_stages(self) -> int:
        """PyTorch's schedules need a pipeline of at least two ranks."""
        return 2 if self.family is Family.PEER else 1

    def world_size(self, stages: int) -> int:
        """Processes a benchmark of ``stages`` stages runs on: one for SINGLE, else one each."""
        return 1 if self.family is Family.SINGLE else stages

    def virtual_stages(self, stages: int) -> int:
        """Stages the model is split into: ``stages_per_rank`` on every rank."""
        return self.world_size(stages) * self.stages_per_rank

    def problem(self, stages: int, microbatches: int) -> str | None:
        """Why this mode cannot run ``stages`` stages at ``microbatches``, or None.

        The one place the stage and microbatch rules are written; specs check it
        when they are built (PyTorch's own constructors would refuse the same
        inside a rank).
        """
        if stages < self.min_stages:
            return f"{self.name} needs at least {self.min_stages} stages"
        virtual = self.virtual_stages(stages)
        if self.microbatch_rule is MicrobatchRule.AT_LEAST_STAGES and microbatches < virtual:
            named = f"{self.name} ({self.torch_class})" if self.torch_class else self.name
            return (
                f"{named} needs at least as many "
                f"microbatches as stages: {microbatches} microbatches, {virtual} stages"
            )
        if self.multi:
            rounds = max(1, microbatches // self.world_size(stages))
            if microbatches % rounds:
                return (
                    f"{self.name} ({self.torch_class}) needs the microbatches ({microbatches}) "
                    f"to be a multiple of its rounds (max(1, m // ranks) = {rounds})"
                )
        return None

    def build_schedule(
        self,
        num_stages: int,
        microbatches: int,
        staleness: int = 0,
        update_every: int = 1,
        *,
        steps: int = 1,
    ) -> Schedule:
        """One training step of this mode's schedule, named after the mode.

        ``staleness`` and ``update_every`` apply to unlocked schedules; a bad
        staleness is refused for every schedule alike. ``steps`` applies to
        asynchronous ones, which never flush: one schedule spans all the steps.
        """
        if self.builder is None:
            raise ValueError(f"{self.name} has no schedule of dnibench's: {self.summary}")
        builders.check_sizes(num_stages, microbatches, staleness)
        if self.family is Family.ASYNC:
            schedule = self.builder(num_stages, microbatches, steps)
        elif self.unlocked:
            schedule = self.builder(num_stages, microbatches, staleness, update_every)
        else:
            schedule = self.builder(num_stages, microbatches)
        return replace(schedule, name=self.name)


def _own(name: str, builder: Builder, summary: str, lists: StageLists, split: bool = False) -> Mode:
    return Mode(
        name, Family.OWN, summary, builder=builder, split_backward=split, simulated=True,
        stage_lists=lists,
    )  # fmt: skip


def _decoupled(name: str, builder: Builder, regime: str) -> Mode:
    return Mode(
        name, Family.DECOUPLED, REGIMES[regime].summary, REGIMES[regime], builder,
        simulated=True, stage_lists=StageLists.ENDS,
    )  # fmt: skip


def _peer(name: str, torch_class: str, **kw: object) -> Mode:
    return Mode(
        name, Family.PEER, f"torch.distributed.pipelining.{torch_class}", runtimes=(DIST,),
        torch_class=torch_class, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


_AT_LEAST = MicrobatchRule.AT_LEAST_STAGES
_SPLIT = {"split_backward": True}
_LOOP = {"stages_per_rank": 2, "multi": True, "placement": "loop"}
_V = {"stages_per_rank": 2, "multi": True, "placement": "v"}

SEQUENTIAL = _own("sequential", builders.sequential, "naive model parallelism", StageLists.SAME)
GPIPE = _own("gpipe", builders.gpipe, "GPipe: all forwards, then all backwards", StageLists.SAME)
ONE_F_ONE_B = _own("1f1b", builders.one_f_one_b, "1F1B: a forward, a backward", StageLists.WARMUP)
ZB = _own("zb", builders.zero_bubble_h1, "ZB-H1: 1F1B, backward split", StageLists.WARMUP, True)
DNI = _decoupled("dni", builders.dni, "dni")
CDNI = _decoupled("cdni", builders.cdni, "cdni")
UNLOCK = _decoupled("unlock", builders.unlock, "unlock")
TORCH_GPIPE = _peer("torch-gpipe", "ScheduleGPipe", simulated_as=GPIPE.name)
TORCH_1F1B = _peer(
    "torch-1f1b", "Schedule1F1B", microbatch_rule=_AT_LEAST, simulated_as=ONE_F_ONE_B.name
)
# ScheduleInterleavedZeroBubble (ZB1P) with one stage per rank: the peer of dnibench's zb.
TORCH_ZB = _peer("torch-zb", "ScheduleInterleavedZeroBubble", multi=True, **_SPLIT)
TORCH_INTERLEAVED_1F1B = _peer("torch-interleaved-1f1b", "ScheduleInterleaved1F1B", **_LOOP)
TORCH_LOOPED_BFS = _peer("torch-looped-bfs", "ScheduleLoopedBFS", **_LOOP)
TORCH_INTERLEAVED_ZB = _peer(
    "torch-interleaved-zb", "ScheduleInterleavedZeroBubble", **_LOOP, **_SPLIT
)
TORCH_ZBV = _peer("torch-zbv", "ScheduleZBVZeroBubble", **_V, **_SPLIT)
TORCH_DUALPIPEV = _peer(
    "torch-dualpipev", "ScheduleDualPipeV", **_V, **_SPLIT, microbatch_rule=_AT_LEAST
)


def _async(name: str, builder: Builder, summary: str, rule: AsyncRule, **kw: object) -> Mode:
    lists = StageLists.SAME if rule.local_loss else StageLists.WARMUP
    return Mode(
        name, Family.ASYNC, summary, builder=builder, runtimes=(DIST, STREAMS),
        asynchronous=rule, simulated=True, stage_lists=lists, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


PIPEDREAM = _async(
    "pipedream", async_builders.pipedream, "PipeDream: 1F1B, no flush, weight stashing",
    AsyncRule(Versions.STASHED, update_every_microbatch=True),
)  # fmt: skip
PIPEDREAM_2BW = _async(
    "pipedream-2bw", async_builders.pipedream_2bw,
    "PipeDream-2BW: two weight buffers, updates one version late",
    AsyncRule(Versions.PREVIOUS_STEP, update_every_microbatch=False), microbatch_rule=_AT_LEAST,
)  # fmt: skip
PIPEMARE = _async(
    "pipemare", async_builders.pipemare,
    "PipeMare: no stash, learning-rate rescheduling and discrepancy correction",
    AsyncRule(Versions.UNSTASHED, update_every_microbatch=True, pipemare=True),
)  # fmt: skip
PIPEMARE_PLAIN = _async(
    "pipemare-plain", async_builders.pipemare, "PipeMare without its two remedies",
    AsyncRule(Versions.UNSTASHED, update_every_microbatch=True),
)  # fmt: skip
DGL = _async(
    "dgl", async_builders.dgl, "synchronous DGL: local auxiliary losses, no backward lock",
    AsyncRule(Versions.LOCAL, update_every_microbatch=False, local_loss=True),
)  # fmt: skip
# The baseline runs GPipe's schedule on its one stage.
SINGLE = Mode("single", Family.SINGLE, "the whole model in one process", builder=builders.gpipe)

#: The table, in the order commands and reports list modes.
MODES: tuple[Mode, ...] = (
    SEQUENTIAL, GPIPE, ONE_F_ONE_B, ZB, DNI, CDNI, UNLOCK,
    TORCH_GPIPE, TORCH_1F1B, TORCH_ZB, TORCH_INTERLEAVED_1F1B, TORCH_LOOPED_BFS,
    TORCH_INTERLEAVED_ZB, TORCH_ZBV, TORCH_DUALPIPEV,
    PIPEDREAM, PIPEDREAM_2BW, PIPEMARE, PIPEMARE_PLAIN, DGL,
    SINGLE,
)  # fmt: skip
_BY_NAME = {mode.name: mode for mode in MODES}


def modes_of(*families: Family) -> tuple[Mode, ...]:
    """The rows of ``families`` (every row when none is given), in table order."""
    return tuple(mode for mode in MODES if not families or mode.family in families)


def mode_names(*families: Family) -> tuple[str, ...]:
    """The names of the modes of ``families`` (every mode when none is given), in table order."""
    return tuple(mode.name for mode in modes_of(*families))


#: Every mode a pipeline benchmark takes (``bench --mode``, the suite key ``mode``).
BENCH_MODES = mode_names()


def get_mode(name: str) -> Mode:
    """The row of ``name``; a :class:`UserError` with a close match otherwise."""
    mode = _BY_NAME.get(name)
    if mode is None:
        raise unknown_name("mode", name, BENCH_MODES)
    return mode


def find_mode(name: object) -> Mode | None:
    """The row of ``name``, or None (for modes read back from old runs' configs)."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


def unlocked_mode_names() -> tuple[str, ...]:
    """The modes whose stages update on synthetic gradients (dni, cdni, unlock)."""
    return tuple(mode.name for mode in MODES if mode.unlocked)


def is_unlocked(name: object) -> bool:
    """Whether ``name`` is an unlocked mode (False for anything that is not a mode)."""
    mode = find_mode(name)
    return mode is not None and mode.unlocked


def schedule_names() -> tuple[str, ...]:
    """dnibench's own schedules, exact and decoupled: the modes with a schedule of their own."""
    return mode_names(Family.OWN, Family.DECOUPLED)


def simulated_mode_names() -> tuple[str, ...]:
    """The modes the simulator has a program for."""
    return tuple(mode.name for mode in MODES if mode.simulated)


def split_backward_mode_names(*families: Family) -> tuple[str, ...]:
    """The modes whose backward is split into input and weight halves."""
    return tuple(mode.name for mode in modes_of(*families) if mode.split_backward)


def regime_names() -> tuple[str, ...]:
    """The regimes of the table's modes, once each (what ``train --mode`` takes)."""
    return tuple(dict.fromkeys(mode.regime.name for mode in MODES))


def build_schedule(
    name: str, num_stages: int, microbatches: int, staleness: int = 0, update_every: int = 1
) -> Schedule:
    """The schedule of the mode called ``name`` (see :meth:`Mode.build_schedule`).

    Unknown names, and modes without a schedule of dnibench's, raise a
    :class:`~dnibench.errors.UserError` listing the schedules, since the name
    usually comes from a suite file or the command line.
    """
    mode = find_mode(name)
    if mode is None or mode.family not in (Family.OWN, Family.DECOUPLED):
        raise unknown_name("schedule", name, SCHEDULE_NAMES)
    return mode.build_schedule(num_stages, microbatches, staleness, update_every)


#: dnibench's own schedules (exact and decoupled), for code that lists them.
SCHEDULE_NAMES = schedule_names()
#: PyTorch's schedules run as peers.
PEER_MODES = mode_names(Family.PEER)
#: What ``train --mode`` and a train item's ``mode`` take: the regimes of the table's modes,
#: and the asynchronous modes (whose trajectory is their schedule's: the reference replays it).
TRAIN_MODES = regime_names() + mode_names(Family.ASYNC)
#: The modes the simulator runs (``simulate --modes``).
SIMULATED_MODES = simulated_mode_names()
