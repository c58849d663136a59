"""One benchmark as plain data: what to run, how, and for how long.

A :class:`BenchSpec` is what every runtime runs and what every process of a
benchmark receives (it is pickled to spawned ranks and rebuilt from flags
under torchrun), so it holds only plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dnibench.data.lm_windows import TOKEN_DATA
from dnibench.errors import UserError, unknown_name
from dnibench.models import LANGUAGE_MODELS
from dnibench.modes import (
    BENCH_MODES,
    BENCH_RUNTIMES,
    SINGLE,
    STREAMS,
    Family,
    Mode,
    get_mode,
    mode_names,
)
from dnibench.modes import PEER_MODES as PEER_MODES
from dnibench.optim import OptimConfig
from dnibench.pipeline import PipelineConfig
from dnibench.precision import DEFAULT_DTYPE, check_dtype
from dnibench.regimes.regime import Regime
from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig

# dnibench's own schedules (exact and decoupled), PyTorch's as peers, and the
# single-process baseline: names from the table of modes.
OWN_MODES = mode_names(Family.OWN, Family.DECOUPLED)
SINGLE_MODE = SINGLE.name
# One process per stage over torch.distributed, or one CUDA stream per stage.
RUNTIMES = BENCH_RUNTIMES
STREAMS_DEVICES = ("auto", "cuda", "cpu")


@dataclass(frozen=True)
class BenchSpec:
    """A pipeline benchmark: model, split, schedule, budget and knobs.

    ``threads`` is the intra-op thread count of each rank (of the one process
    for ``single``). ``warmup`` steps are run but excluded from the window.
    ``slow_stage`` / ``slow_factor`` make one stage a real straggler.
    ``spans`` off records only step markers (to measure instrumentation cost).
    ``fault`` (``KIND:STAGE:STEP``) injects a failure for fault-handling tests:
    the stage raises, hangs, or SIGKILLs itself when it reaches that step.
    ``update_per_microbatch`` makes unlocked stages step their optimiser after
    every microbatch (the paper's DNI) instead of once per step (GPipe's
    optimiser work). ``keep_parameters`` returns each stage's final parameters (for tests that
    compare runtimes).
    ``runtime`` is ``dist`` (one process per stage) or ``streams`` (one CUDA
    stream per stage in one process); ``device`` picks the streams runtime's
    device: ``cuda`` (required), ``cpu`` (the CPU stand-in) or ``auto``.
    ``nvml`` off skips GPU telemetry, to measure what sampling costs.
    ``dtype`` (``fp32`` or ``bf16``) is the precision of everything the run
    computes and sends: model, messages, SG / SI modules, optimiser state.
    ``text_path`` is the UTF-8 file of ``data = "text"`` (a language model's
    windows of ``input_shape == (L,)`` characters; ``pystdlib`` needs none).
    ``eval_every`` > 0 makes every stage snapshot its parameters after the update that
    completes each ``eval_every``-th step (and the last), for an evaluation composed off
    the clock (:mod:`~dnibench.runtimes.snapshots`). ``data_seed`` fixes the data set (the
    generated data, the held-out split) apart from ``seed``; None uses ``seed``.
    """

    name: str
    mode: str
    model: str = "mlp"
    width: int | None = None
    depth: int | None = None
    data: str = "synthetic"
    input_shape: tuple[int, ...] = (256,)
    stages: int = 2
    balance: tuple[int, ...] | None = None
    microbatches: int = 1
    batch_size: int = 64
    steps: int = 30
    warmup: int = 5
    threads: int = 1
    staleness: int = 0
    optim: OptimConfig = field(default_factory=OptimConfig)
    sg: SGConfig = field(default_factory=SGConfig)
    si: SIConfig = field(default_factory=SIConfig)
    spans: bool = True
    slow_stage: int | None = None
    slow_factor: float = 1.0
    timeout_s: float = 30.0
    seed: int = 0
    backend: str = "gloo"
    fault: str | None = None
    keep_parameters: bool = False
    update_per_microbatch: bool = False
    runtime: str = "dist"
    device: str = "auto"
    nvml: bool = True
    dtype: str = DEFAULT_DTYPE
    text_path: str | None = None
    eval_every: int = 0
    data_seed: int | None = None

    def __post_init__(self) -> None:
        check_dtype(self.dtype, self.name)
        if self.mode not in BENCH_MODES:
            raise unknown_name("mode", self.mode, BENCH_MODES)
        if self.runtime not in RUNTIMES:
            raise unknown_name("runtime", self.runtime, RUNTIMES)
        if self.device not in STREAMS_DEVICES:
            raise unknown_name("device", self.device, STREAMS_DEVICES)
        if self.runtime == "streams":
            _check_streams(self)
        if self.microbatches < 1 or self.batch_size % self.microbatches:
            raise UserError(
                f"{self.name}: batch size {self.batch_size} must split evenly into "
                f"{self.microbatches} microbatches"
            )
        if self.steps <= self.warmup:
            raise UserError(f"{self.name}: steps ({self.steps}) must exceed warmup ({self.warmup})")
        problem = self.mode_row.problem(self.stages, self.microbatches)
        if problem is not None:
            raise UserError(f"{self.name}: {problem}")
        if self.fault is not None:
            parse_fault(self.fault)
        if self.eval_every < 0:
            raise UserError(f"{self.name}: eval_every must be >= 0, got {self.eval_every}")
        if self.slow_stage is not None and not 0 <= self.slow_stage < self.world_size:
            raise UserError(f"{self.name}: slow_stage {self.slow_stage} is not a stage")
        _check_tokens(self)

    @property
    def mode_row(self) -> Mode:
        """The row of :mod:`dnibench.modes` that says how this mode runs."""
        return get_mode(self.mode)

    @property
    def regime(self) -> Regime:
        return self.mode_row.regime

    @property
    def world_size(self) -> int:
        """Processes the benchmark runs on: one per stage, one for ``single``."""
        return self.mode_row.world_size(self.stages)

    @property
    def pipeline_config(self) -> PipelineConfig:
        return PipelineConfig(
            model=self.model,
            width=self.width,
            depth=self.depth,
            stages=self.virtual_stages,
            balance=self._model_balance(),
            optim=self.optim,
            sg=self.sg,
            si=self.si,
            seed=self.seed,
            dtype=self.dtype,
        )

    def _model_balance(self) -> tuple[int, ...] | None:
        """The split: none for ``single``; a looped/V peer keeps it only if it names every
        virtual stage, and otherwise splits by cost (the ranks' balance cannot say where)."""
        if self.mode_row.family is Family.SINGLE:
            return None
        if (
            self.virtual_stages != self.world_size
            and len(self.balance or ()) != self.virtual_stages
        ):
            return None
        return self.balance

    @property
    def virtual_stages(self) -> int:
        """Stages the model is split into: two per rank for PyTorch's looped and V peers."""
        return self.mode_row.virtual_stages(self.stages)

    @property
    def update_every(self) -> int:
        """Microbatches per optimiser step of an unlocked stage."""
        return 1 if self.update_per_microbatch else self.microbatches

    @property
    def microbatch_size(self) -> int:
        return self.batch_size // self.microbatches

    def with_(self, **changes: object) -> BenchSpec:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _check_streams(spec: BenchSpec) -> None:
    """What the streams runtime cannot do, said before anything runs."""
    if STREAMS not in spec.mode_row.runtimes:
        runs = [mode for mode in BENCH_MODES if STREAMS in get_mode(mode).runtimes]
        raise UserError(
            f"{spec.name}: {spec.mode} runs torch.distributed.pipelining, which needs one "
            'process per stage: use runtime = "dist" for it (streams runs '
            f"{', '.join(runs)})"
        )
    if spec.fault is not None and not spec.fault.startswith("raise:"):
        raise UserError(
            f"{spec.name}: the streams runtime runs every stage in one process, so it can only "
            f"inject 'raise' faults, not {spec.fault!r}; use runtime = \"dist\" for hang/kill"
        )


def _check_tokens(spec: BenchSpec) -> None:
    """A language model reads a token corpus, and only a language model does."""
    language, tokens = spec.model in LANGUAGE_MODELS, spec.data in TOKEN_DATA
    if language and not tokens:
        raise UserError(
            f"{spec.name}: model {spec.model} reads windows of token ids; use data = "
            f"{' or '.join(repr(d) for d in TOKEN_DATA)} with input_shape = [L]"
        )
    if tokens and not language:
        raise UserError(
            f"{spec.name}: data {spec.data!r} is token windows for a language model; use "
            f"model = {' or '.join(repr(m) for m in LANGUAGE_MODELS)}"
        )


FAULT_KINDS = ("raise", "hang", "kill")


def parse_fault(text: str) -> tuple[str, int, int]:
    """``KIND:STAGE:STEP`` (e.g. ``kill:1:5``) -> (kind, stage, step)."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in FAULT_KINDS or not all(p.isdigit() for p in parts[1:]):
        raise UserError(
            f"fault {text!r} must be KIND:STAGE:STEP with KIND one of {', '.join(FAULT_KINDS)}, "
            "e.g. kill:1:5"
        )
    return parts[0], int(parts[1]), int(parts[2])
