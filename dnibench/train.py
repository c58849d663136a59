"""Train one configuration and record its learning curve.

This is what ``dnibench train`` runs and what the accuracy tests call: a
fixed budget of steps on the reference runtime, evaluated on the test split
every few steps, with samples seen and seconds spent kept next to each point
so that data efficiency and training time can be read off the same curve.

Seconds are CPU seconds spent in training steps (evaluation excluded): with
one torch thread (the default, ``threads = 1``) the training thread's own
(``time.thread_time``), so a run on a machine shared with other jobs still
counts only its own work; with more threads the whole process's
(``time.process_time``), which also counts idle pool threads spinning. Wall
seconds are kept beside them (``wall_seconds``), and inflate when the machine
is shared.

``frozen_stages`` keeps the first n stages at their initial weights (their
learning rate is 0; BatchNorm statistics still follow the data): with n = K-1
only the last stage learns, on random features. That is the no-backprop
baseline a regime's accuracy is judged against.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from dnibench.data import BatchStream, Dataset, load_dataset
from dnibench.modes import DNI, Mode, find_mode
from dnibench.pipeline import Pipeline, PipelineConfig, build_pipeline
from dnibench.regimes.async_stages import asynchronous_stages
from dnibench.regimes.regime import Regime, get_regime
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.runtimes.replay import ScheduleReplay


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, pipeline, regime and budget."""

    data: str = "digits"
    mode: str = DNI.regime.name
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    batch_size: int = 64
    microbatches: int = 1
    steps: int = 600
    eval_every: int = 100
    data_dir: Path | None = None
    frozen_stages: int = 0
    threads: int = 1
    timeout_s: float = 300.0  # a suite's run: hung after this long without an optimiser step
    input_shape: tuple[int, ...] | None = None  # a token corpus's (L,): the window length
    text_path: Path | None = None  # data = "text": the UTF-8 file
    test_examples: int | None = None  # evaluate on this many test examples, evenly spaced

    def __post_init__(self) -> None:
        if not 0 <= self.frozen_stages < self.pipeline.stages:
            raise ValueError(
                f"frozen_stages must be from 0 to stages - 1 = {self.pipeline.stages - 1} "
                f"(the last stage always trains), got {self.frozen_stages}"
            )
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        if self.test_examples is not None and self.test_examples < 1:
            raise ValueError(f"test_examples must be at least 1, got {self.test_examples}")


@dataclass
class CurvePoint:
    """One evaluation: where training stood and how the model did on test data."""

    step: int
    samples: int
    seconds: float
    train_loss: float
    test_loss: float
    test_accuracy: float
    sg_loss: float = math.nan
    sg_cosine: float = math.nan
    si_loss: float = math.nan
    wall_seconds: float = math.nan


@dataclass
class TrainResult:
    """The learning curve and final test metrics of one run."""

    config: TrainConfig
    balance: list[int]
    curve: list[CurvePoint]

    @property
    def final(self) -> CurvePoint:
        return self.curve[-1]


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _asynchronous(mode: str) -> Mode | None:
    """The row of an asynchronous mode (trained by replaying its schedule), else None."""
    row = find_mode(mode)
    return row if row is not None and row.asynchronous is not None else None


def _regime(mode: str) -> Regime:
    row = _asynchronous(mode)
    return row.regime if row is not None else get_regime(mode)


def prepare(config: TrainConfig, dataset: Dataset | None = None) -> tuple[Dataset, Pipeline]:
    """Load the data (unless given) and build the pipeline for ``config``."""
    regime = _regime(config.mode)
    if dataset is None:
        dataset = load_dataset(
            config.data,
            data_dir=config.data_dir,
            seed=config.pipeline.seed,
            text_path=config.text_path,
            **({} if config.input_shape is None else {"synthetic_shape": config.input_shape}),
        )
    sample = dataset.x_train[: max(2, min(config.batch_size, len(dataset.x_train)))]
    pipeline = build_pipeline(
        config.pipeline, regime, dataset.input_shape, dataset.num_classes, sample
    )
    row = _asynchronous(config.mode)
    if row is not None and row.asynchronous is not None:
        pipeline.stages = asynchronous_stages(
            pipeline.stages, row.asynchronous, config.microbatches,
            shapes=pipeline.activation_shapes, num_classes=dataset.num_classes,
            task=pipeline.model.task, seed=config.pipeline.seed,
        )  # fmt: skip
    return dataset, pipeline


def held_out(config: TrainConfig, dataset: Dataset) -> tuple[Tensor, Tensor]:
    """The held-out examples evaluated: all, or ``test_examples`` evenly spaced over the split.

    A language model's test split holds thousands of windows, and evaluating
    all of them at every point would cost more than the training between;
    evenly spaced windows sample every part of the corpus (its files), the
    same windows at every point and in every regime.
    """
    x, y = dataset.x_test, dataset.y_test
    if config.test_examples is None or config.test_examples >= len(x):
        return x, y
    index = torch.linspace(0, len(x) - 1, config.test_examples).round().long()
    return x[index], y[index]


def freeze(pipeline: Pipeline, count: int) -> None:
    """Learning rate 0 for the first ``count`` stages: they keep their initial weights."""
    for stage in pipeline.stages[:count]:
        for group in stage.optimizer.param_groups:
            group["lr"] = 0.0


def train(
    config: TrainConfig, dataset: Dataset | None = None, *, verbose: bool = False
) -> TrainResult:
    """Train ``config`` on the reference runtime; evaluate every ``eval_every`` steps.

    Torch runs with ``config.threads`` threads for the run (restored after).
    """
    threads_before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(config, dataset, verbose=verbose)
    finally:
        torch.set_num_threads(threads_before)


def _train(config: TrainConfig, dataset: Dataset | None, *, verbose: bool) -> TrainResult:
    dataset, pipeline = prepare(config, dataset)
    freeze(pipeline, config.frozen_stages)
    cpu_clock = time.thread_time if config.threads == 1 else time.process_time
    stream = BatchStream(
        dataset.x_train, dataset.y_train, config.batch_size, seed=config.pipeline.seed
    )
    runtime = _runtime(config, pipeline, stream)
    x_test, y_test = held_out(config, dataset)
    torch.manual_seed(config.pipeline.seed + 2)
    curve: list[CurvePoint] = []
    window: list[tuple[float, float, float, float]] = []
    seconds, wall = 0.0, 0.0
    for step in range(1, config.steps + 1):
        x, y = stream.batch(step - 1)
        started, cpu_started = time.perf_counter(), cpu_clock()
        metrics = runtime.train_step(x, y)
        seconds += cpu_clock() - cpu_started
        wall += time.perf_counter() - started
        window.append(
            (
                metrics.loss,
                _nanmean(metrics.sg_loss),
                _nanmean(metrics.sg_cosine),
                _nanmean(metrics.si_loss),
            )
        )
        if step % config.eval_every == 0 or step == config.steps:
            test_loss, accuracy = runtime.evaluate(x_test, y_test)
            columns = list(zip(*window, strict=True))
            point = CurvePoint(
                step=step,
                samples=step * config.batch_size,
                seconds=seconds,
                train_loss=_nanmean(list(columns[0])),
                test_loss=test_loss,
                test_accuracy=accuracy,
                sg_loss=_nanmean(list(columns[1])),
                sg_cosine=_nanmean(list(columns[2])),
                si_loss=_nanmean(list(columns[3])),
                wall_seconds=wall,
            )
            curve.append(point)
            window.clear()
            if verbose:
                print(format_point(point), flush=True)
    return TrainResult(config=config, balance=pipeline.balance, curve=curve)


def _runtime(config: TrainConfig, pipeline: Pipeline, stream: BatchStream) -> ReferenceRuntime:
    """The reference runtime of a regime, or the replay of an asynchronous mode's schedule."""
    row = _asynchronous(config.mode)
    m = config.microbatches
    if row is None or row.asynchronous is None:
        return ReferenceRuntime(pipeline.stages, get_regime(config.mode), m)
    if config.frozen_stages:
        raise ValueError(f"frozen_stages applies to regimes, not to {config.mode}")
    cache: dict[int, tuple[tuple[Tensor, ...], tuple[Tensor, ...]]] = {}

    def data(mb: int) -> tuple[Tensor, Tensor]:
        step, index = divmod(mb, m)
        if step not in cache:  # a no-flush schedule reads two steps at once
            for old in [s for s in cache if s < step - 1]:
                del cache[old]
            x, y = stream.batch(step)
            cache[step] = (x.chunk(m), y.chunk(m))
        return cache[step][0][index], cache[step][1][index]

    schedule = row.build_schedule(pipeline.stages[0].num_stages, m, steps=config.steps)
    scale = row.asynchronous.loss_scale(m)
    return ScheduleReplay(pipeline.stages, row.regime, m, schedule, data, scale)


CURVE_HEADER = (
    f"{'step':>6} {'samples':>8} {'seconds':>8} {'train_loss':>10} {'test_loss':>9} "
    f"{'test_acc':>8} {'sg_loss':>9} {'sg_cos':>7} {'si_loss':>9}"
)


def format_point(point: CurvePoint) -> str:
    """One row of the learning-curve table printed by ``dnibench train``."""
    return (
        f"{point.step:>6} {point.samples:>8} {point.seconds:>8.2f} {point.train_loss:>10.4f} "
        f"{point.test_loss:>9.4f} {point.test_accuracy:>8.4f} {point.sg_loss:>9.3g} "
        f"{point.sg_cosine:>7.3f} {point.si_loss:>9.3g}"
    )
