"""Character language modelling: train for a character budget, score held-out BPC on a schedule.

The training text is cut into ``batch_size`` parallel streams read T
characters at a time; when the streams run out they start again from the
top with a fresh state (the chunk before is marked as ending its sequence).
Every ``eval_every`` characters the model is scored on a fixed held-out
slice (the first ``eval_chars`` characters of ``eval_split``, read as 16
parallel streams from a zero state), so every regime is judged on the same
text. The training clock stops while evaluating: seconds are training time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch.nn import functional as F

from dnibench.recurrent.chunks import Chunk
from dnibench.recurrent.config import RecurrentConfig
from dnibench.recurrent.core import LSTMCore, State
from dnibench.recurrent.corpus import CharCorpus, batchify, load_ptb, load_text
from dnibench.recurrent.trainer import build_regime

EVAL_STREAMS = 16
EVAL_CHUNK = 256
LN2 = math.log(2)


@dataclass(frozen=True)
class LMPoint:
    """One evaluation: characters trained on, training seconds, and BPC."""

    chars: int
    seconds: float
    train_bpc: float
    test_bpc: float


@dataclass(frozen=True)
class LMResult:
    """The learning curve of one run and what is read off it."""

    config: RecurrentConfig
    curve: list[LMPoint]
    split_note: str

    @property
    def final(self) -> LMPoint:
        return self.curve[-1]

    def to_target(self, target: float | None) -> tuple[float, float]:
        """Characters and seconds at which held-out BPC first reaches ``target`` (NaN if never).

        Interpolated linearly between the evaluation before and the one at
        the crossing, so the figure does not snap to the evaluation grid.
        """
        if target is None:
            return math.nan, math.nan
        for before, point in zip(self.curve, self.curve[1:], strict=False):
            if point.test_bpc <= target:
                if before.test_bpc <= target:
                    return float(before.chars), before.seconds
                share = (before.test_bpc - target) / (before.test_bpc - point.test_bpc)
                chars = before.chars + share * (point.chars - before.chars)
                return chars, before.seconds + share * (point.seconds - before.seconds)
        return math.nan, math.nan


@lru_cache(maxsize=4)
def load_corpus(data: str, path: Path | None, train_split: str, split: float) -> CharCorpus:
    """The corpus a config names (cached: the suite's runs share it)."""
    if data == "ptb":
        assert path is not None
        return load_ptb(path, train_split)
    assert path is not None
    return load_text(path, split)


def corpus_of(config: RecurrentConfig) -> CharCorpus:
    """The corpus of ``config``, with the training split under the name ``train``'s vocabulary."""
    path = config.data_dir if config.data == "ptb" else config.text_path
    train_split = config.train_split if config.data == "ptb" else "train"
    return load_corpus(config.data, path, train_split, config.split)


@torch.no_grad()
def held_out_bpc(core: LSTMCore, ids: torch.Tensor) -> float:
    """Bits per character of ``core`` on ``ids``, read as parallel streams from a zero state."""
    streams = batchify(ids, min(EVAL_STREAMS, max(1, ids.numel() // 4)))
    total, count = 0.0, 0
    state: State | None = None
    for start in range(0, streams.shape[1] - 1, EVAL_CHUNK):
        stop = min(start + EVAL_CHUNK, streams.shape[1] - 1)
        logits, state = core(streams[:, start:stop], state)
        targets = streams[:, start + 1 : stop + 1]
        total += float(
            F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum"
            )
        )
        count += targets.numel()
    return total / count / LN2


def run_char_lm(config: RecurrentConfig) -> LMResult:
    """Train ``config`` on its corpus for ``config.chars`` characters, evaluating on a schedule."""
    torch.set_num_threads(config.threads)
    corpus = corpus_of(config)
    train_name = config.train_split if config.data == "ptb" else "train"
    eval_name = config.eval_split if config.data == "ptb" else "valid"
    streams = batchify(corpus.split(train_name), config.batch_size)
    held_out = corpus.split(eval_name)[: config.eval_chars]
    vocab = len(corpus.vocab)
    regime = build_regime(config, vocab, vocab)
    core = regime.core
    assert isinstance(core, LSTMCore)
    truncation, length = config.truncation, streams.shape[1]
    curve = [LMPoint(0, 0.0, math.nan, held_out_bpc(core, held_out))]
    chars, seconds, position, next_eval = 0, 0.0, 0, config.eval_every
    state: State | None = None
    loss_sum, loss_count = 0.0, 0
    while chars < config.chars:
        started = time.perf_counter()
        stop = min(position + truncation, length - 1)
        ends = stop + truncation > length - 1
        chunk = Chunk(streams[:, position:stop], streams[:, position + 1 : stop + 1], ends=ends)
        step = regime.train_chunk(chunk, state)
        state, position = step.state, 0 if ends else stop
        seconds += time.perf_counter() - started
        chars += chunk.positions
        loss_sum, loss_count = loss_sum + step.loss * chunk.positions, loss_count + chunk.positions
        if chars >= next_eval or chars >= config.chars:
            train_bpc = loss_sum / loss_count / LN2
            curve.append(LMPoint(chars, seconds, train_bpc, held_out_bpc(core, held_out)))
            loss_sum, loss_count = 0.0, 0
            next_eval += config.eval_every
    note = (
        f"trained on {corpus.source} split {train_name!r}, scored on the first "
        f"{held_out.numel()} characters of split {eval_name!r}"
    )
    return LMResult(config, curve, note)


__all__ = ["LMPoint", "LMResult", "held_out_bpc", "run_char_lm"]
