"""Copy-task benchmark: train under a curriculum for a character budget, report the longest solved.

Each batch is ``batch_size`` episodes of the curriculum's current length,
cut into chunks of T steps from a fresh state, the last chunk ending the
episode (no synthetic gradient past it). The error of a batch is read from
the training forward pass (bits per answer character); the curriculum
decides from it. Characters count every step of every episode.

Seconds are the training thread's CPU seconds (``time.thread_time``), as in
:mod:`lm_bench`: every run uses one thread, so runs side by side
(``dnibench run --jobs 2``) on a shared machine each count only their own work.
On a GPU they are synchronised wall seconds (:mod:`device`); both clocks are kept.

A run *stalled* when its curriculum solved no length in the last
:data:`STALL_SHARE` of its budget: it was stuck at its final length, and a
larger budget alone would not have moved the figure. A run that did not stall
was still growing when the budget ran out: its longest solved length is a
bound set by the budget, not by the regime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from dnibench.studies.recurrent.chunks import sequence_chunks
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.copy_tasks import CopyBatch, CopyTask, Curriculum, error_bits
from dnibench.studies.recurrent.core import State
from dnibench.studies.recurrent.device import ChunkClock, resolve_device
from dnibench.studies.recurrent.tbptt import TBPTT
from dnibench.studies.recurrent.trainer import build_regime

STALL_SHARE = 0.5


@dataclass(frozen=True)
class CopyPoint:
    """Where the curriculum stood after ``chars`` characters and ``seconds`` of training."""

    chars: int
    seconds: float
    length: int
    longest_solved: int
    error_bits: float
    wall_seconds: float = math.nan
    cpu_seconds: float = math.nan


@dataclass(frozen=True)
class CopyResult:
    """The curriculum's progress over one run."""

    config: RecurrentConfig
    curve: list[CopyPoint]
    solved_at: list[int] = field(default_factory=list)  # characters when each length was solved

    @property
    def final(self) -> CopyPoint:
        return self.curve[-1]

    @property
    def last_solve_chars(self) -> int:
        """Characters spent when the last length was solved (0 if none was)."""
        return self.solved_at[-1] if self.solved_at else 0

    @property
    def stalled(self) -> bool:
        """True when no length was solved in the last :data:`STALL_SHARE` of the budget."""
        return self.last_solve_chars < (1 - STALL_SHARE) * self.final.chars

    def metric_values(self) -> list[tuple[str, float, str]]:
        """(metric, value, unit) of the run's final state, for the tidy result rows."""
        final = self.final
        task = CopyTask(self.config.task, self.config.symbols, self.config.max_repeats)
        return [
            ("longest_solved", final.longest_solved, "symbols"),
            ("error_bits", final.error_bits, "bits/char"),
            ("final_length", final.length, "symbols"),
            ("final_repeats", task.repeat_ceiling(final.length), "repeats"),
            ("last_solve_chars", self.last_solve_chars, "chars"),
            ("stalled", float(self.stalled), "flag"),
        ]


def run_copy(config: RecurrentConfig, device: torch.device | None = None) -> CopyResult:
    """Train ``config`` on its copy task until ``config.chars`` characters are spent.

    Batches are drawn on the CPU (the same episodes on every device) and moved to
    ``device`` (default: the one ``config.device`` names).
    """
    torch.set_num_threads(config.threads)
    device = device or resolve_device("copy", config.device)
    task = CopyTask(config.task, config.symbols, config.max_repeats)
    regime = build_regime(config, task.input_vocab, task.output_vocab, device=device)
    generator = torch.Generator().manual_seed(config.seed)
    curriculum = Curriculum(threshold=config.solve_bits, window=config.solve_window)
    curve: list[CopyPoint] = []
    solved_at: list[int] = []
    chars, next_point, clock = 0, config.eval_every, ChunkClock(device)
    while chars < config.chars:
        clock.start()
        batch = _on(task.batch(curriculum.length, config.batch_size, generator), device)
        error = _train_episode(regime, batch, config.truncation)
        clock.stop()
        chars += batch.inputs.numel()
        if curriculum.record(error):
            solved_at.append(chars)
        if chars >= next_point or chars >= config.chars:
            curve.append(
                CopyPoint(
                    chars,
                    clock.seconds,
                    curriculum.length,
                    curriculum.longest_solved,
                    error,
                    clock.wall,
                    clock.cpu,
                )
            )
            next_point += config.eval_every
    return CopyResult(config, curve, solved_at)


def _on(batch: CopyBatch, device: torch.device) -> CopyBatch:
    """``batch`` with its tensors on ``device`` (itself when already there)."""
    if batch.inputs.device == device:
        return batch
    return CopyBatch(batch.inputs.to(device), batch.targets.to(device), batch.mask.to(device))


def _train_episode(regime: TBPTT, batch: CopyBatch, truncation: int) -> float:
    """Train one batch of episodes chunk by chunk; its error in bits per answer character."""
    state: State | None = None
    logits = []
    for chunk in sequence_chunks(batch.inputs, batch.targets, truncation, batch.mask):
        step = regime.train_chunk(chunk, state)
        state = step.state
        logits.append(step.outputs)
    return error_bits(torch.cat(logits, dim=1), batch)


__all__ = ["STALL_SHARE", "CopyPoint", "CopyResult", "run_copy"]
