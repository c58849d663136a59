"""Copy-task benchmark: train under a curriculum for a character budget, report the longest solved.

Each batch is ``batch_size`` episodes of the curriculum's current length,
cut into chunks of T steps from a fresh state, the last chunk ending the
episode (no synthetic gradient past it). The error of a batch is read from
the training forward pass (bits per answer character); the curriculum
decides from it. Characters count every step of every episode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from dnibench.recurrent.chunks import sequence_chunks
from dnibench.recurrent.config import RecurrentConfig
from dnibench.recurrent.copy_tasks import CopyBatch, CopyTask, Curriculum, error_bits
from dnibench.recurrent.core import State
from dnibench.recurrent.tbptt import TBPTT
from dnibench.recurrent.trainer import build_regime


@dataclass(frozen=True)
class CopyPoint:
    """Where the curriculum stood after ``chars`` characters and ``seconds`` of training."""

    chars: int
    seconds: float
    length: int
    longest_solved: int
    error_bits: float


@dataclass(frozen=True)
class CopyResult:
    """The curriculum's progress over one run."""

    config: RecurrentConfig
    curve: list[CopyPoint]

    @property
    def final(self) -> CopyPoint:
        return self.curve[-1]


def run_copy(config: RecurrentConfig) -> CopyResult:
    """Train ``config`` on its copy task until ``config.chars`` characters are spent."""
    torch.set_num_threads(config.threads)
    task = CopyTask(config.task, config.symbols, config.max_repeats)
    regime = build_regime(config, task.input_vocab, task.output_vocab)
    generator = torch.Generator().manual_seed(config.seed)
    curriculum = Curriculum(threshold=config.solve_bits, window=config.solve_window)
    curve: list[CopyPoint] = []
    chars, seconds, next_point = 0, 0.0, config.eval_every
    while chars < config.chars:
        started = time.perf_counter()
        batch = task.batch(curriculum.length, config.batch_size, generator)
        error = _train_episode(regime, batch, config.truncation)
        seconds += time.perf_counter() - started
        chars += batch.inputs.numel()
        curriculum.record(error)
        if chars >= next_point or chars >= config.chars:
            curve.append(
                CopyPoint(chars, seconds, curriculum.length, curriculum.longest_solved, error)
            )
            next_point += config.eval_every
    return CopyResult(config, curve)


def _train_episode(regime: TBPTT, batch: CopyBatch, truncation: int) -> float:
    """Train one batch of episodes chunk by chunk; its error in bits per answer character."""
    state: State | None = None
    logits = []
    for chunk in sequence_chunks(batch.inputs, batch.targets, truncation, batch.mask):
        step = regime.train_chunk(chunk, state)
        state = step.state
        logits.append(step.outputs)
    return error_bits(torch.cat(logits, dim=1), batch)


__all__ = ["CopyPoint", "CopyResult", "run_copy"]
