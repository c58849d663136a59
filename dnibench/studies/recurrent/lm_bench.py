"""Character language modelling: train for a character budget, score valid and test on a schedule.

The training text is cut into ``batch_size`` parallel streams read T
characters at a time; when the streams run out they start again from the
top with a fresh state (the chunk before is marked as ending its sequence).
Every ``eval_every`` characters the model is scored on fixed held-out slices,
the first ``eval_chars`` characters of the valid and of the test split (read
as 16 parallel streams from a zero state), so every regime is judged on the
same text. A run's figure is the test BPC at its best-validation evaluation:
the checkpoint choice is made on valid, never on test.

Seconds are the training thread's CPU seconds (``time.thread_time``), with
evaluation excluded: every run uses one thread, so two runs sharing the
machine's cores (``dnibench run --jobs 2``) each still count only their own
work. Wall seconds and CPU seconds are recorded beside them. On a GPU
(``device = "cuda"``) the seconds are wall seconds, synchronised at both ends
of every chunk (:mod:`device`). A DNI run also probes its
synthetic gradient's quality at every evaluation (:mod:`sg_quality`). A
non-finite training loss ends the run at once and is recorded.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch
from torch.nn import functional as F

from dnibench.data.corpus import (
    CharCorpus,
    batchify,
    load_ptb,
    load_pystdlib,
    load_text,
)
from dnibench.errors import UserError
from dnibench.studies.recurrent.ceiling import BoundaryStates, CeilingPoint, sg_ceiling
from dnibench.studies.recurrent.chunks import Chunk
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.core import LSTMCore, State
from dnibench.studies.recurrent.device import ChunkClock, resolve_device
from dnibench.studies.recurrent.dni_tbptt import DNITBPTT
from dnibench.studies.recurrent.sg_knobs import discount_of
from dnibench.studies.recurrent.sg_quality import SGQuality, probe_length, sg_quality
from dnibench.studies.recurrent.tbptt import TBPTT
from dnibench.studies.recurrent.trainer import build_regime
from dnibench.target_reach import first_reach

EVAL_STREAMS = 16
EVAL_CHUNK = 256
LN2 = math.log(2)
PTB_DIR_VARIABLE = "DNIBENCH_PTB_DIR"


@dataclass(frozen=True)
class LMPoint:
    """One evaluation: characters trained on, training seconds, BPC, and SG quality (DNI)."""

    chars: int
    seconds: float
    train_bpc: float
    valid_bpc: float
    test_bpc: float
    wall_seconds: float = math.nan
    sg: SGQuality = field(default_factory=SGQuality.missing)
    ceiling: CeilingPoint = field(default_factory=CeilingPoint.missing)
    cpu_seconds: float = math.nan


@dataclass(frozen=True)
class LMResult:
    """The learning curve of one run and what is read off it."""

    config: RecurrentConfig
    curve: list[LMPoint]
    split_note: str
    provenance: dict[str, object] = field(default_factory=dict)
    nonfinite_at: int | None = None

    @property
    def final(self) -> LMPoint:
        return self.curve[-1]

    @property
    def best(self) -> LMPoint:
        """The trained evaluation with the lowest validation BPC (the reported checkpoint)."""
        trained = [p for p in self.curve if p.chars > 0 and math.isfinite(p.valid_bpc)]
        return min(trained, key=lambda p: p.valid_bpc) if trained else self.final

    def to_target(self, target: float | None) -> tuple[float, float]:
        """Characters and seconds at the first evaluation whose validation BPC reaches
        ``target`` (NaN if never; :func:`dnibench.target_reach.first_reach`)."""
        if target is None:
            return math.nan, math.nan
        points = [(p.chars, p.seconds, p.valid_bpc) for p in self.curve]
        return first_reach(points, target, higher_is_better=False)


@lru_cache(maxsize=4)
def load_corpus(data: str, path: Path | None, split: float, min_count: int) -> CharCorpus:
    """The corpus a config names (cached: the suite's runs share it)."""
    if data == "pystdlib":
        return load_pystdlib(min_count)
    if data == "ptb":
        return load_ptb(ptb_folder(path), min_count)
    if path is None:
        raise UserError('data "text" needs text_path: pass --text-path FILE')
    return load_text(path, split, min_count)


def ptb_folder(path: Path | None) -> Path:
    """``path``, else the folder in $DNIBENCH_PTB_DIR; a UserError says how to give one."""
    if path is not None:
        return path
    named = os.environ.get(PTB_DIR_VARIABLE)
    if not named:
        raise UserError(
            'data "ptb" needs the Penn Treebank folder: pass --data-dir DIR to dnibench run, '
            f"or set {PTB_DIR_VARIABLE}=DIR, where DIR holds ptb.char.train.txt, "
            "ptb.char.valid.txt, ptb.char.test.txt (or at least the valid and test files)"
        )
    return Path(named).expanduser()


def corpus_of(config: RecurrentConfig) -> CharCorpus:
    """The corpus of ``config``."""
    path = config.data_dir if config.data == "ptb" else config.text_path
    return load_corpus(config.data, path, config.split, config.min_count)


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


def _probe(regime: TBPTT, ids: torch.Tensor, config: RecurrentConfig) -> SGQuality:
    """SG quality of a DNI regime on held-out ``ids`` (missing for plain tbptt)."""
    if not isinstance(regime, DNITBPTT) or ids.numel() <= probe_length(config.truncation):
        return SGQuality.missing()  # plain tbptt, or too little held-out text for the windows
    core = regime.core
    assert isinstance(core, LSTMCore)
    return sg_quality(
        core, regime.sg.net, ids, config.truncation, config.sg_scale, discount=discount_of(config)
    )


def _ceiling(
    regime: TBPTT, boundary: BoundaryStates | None, ids: torch.Tensor, config: RecurrentConfig
) -> CeilingPoint:
    """The learned SG against the ridge ceiling on held-out ``ids`` (missing for plain tbptt)."""
    if not isinstance(regime, DNITBPTT) or boundary is None:
        return CeilingPoint.missing()
    core = regime.core
    assert isinstance(core, LSTMCore)
    return sg_ceiling(core, regime.sg.net, boundary, ids, discount_of(config))


def run_char_lm(config: RecurrentConfig, device: torch.device | None = None) -> LMResult:
    """Train ``config`` on its corpus for ``config.chars`` characters, evaluating on a schedule.

    ``device`` defaults to the one ``config.device`` names (:func:`resolve_device`).
    """
    torch.set_num_threads(config.threads)
    device = device or resolve_device("rnn", config.device)
    corpus = corpus_of(config)
    streams = batchify(corpus.split("train"), config.batch_size).to(device)
    valid = corpus.split("valid")[: config.eval_chars].to(device)
    test = corpus.split("test")[: config.eval_chars].to(device)
    vocab = len(corpus.vocab)
    regime = build_regime(config, vocab, vocab, device=device)
    core = regime.core
    assert isinstance(core, LSTMCore)
    boundary = None
    if isinstance(regime, DNITBPTT):
        boundary = BoundaryStates.for_run(streams, config.truncation, config.eval_every)

    def evaluate(chars: int, clock: ChunkClock, train_bpc: float) -> LMPoint:
        return LMPoint(
            chars,
            clock.seconds,
            train_bpc,
            held_out_bpc(core, valid),
            held_out_bpc(core, test),
            clock.wall,
            _probe(regime, valid, config),
            _ceiling(regime, boundary, valid, config),
            cpu_seconds=clock.cpu,
        )

    truncation, length = config.truncation, streams.shape[1]
    clock = ChunkClock(device)
    curve = [evaluate(0, clock, math.nan)]
    chars, position, next_eval = 0, 0, config.eval_every
    state: State | None = None
    loss_sum, loss_count = 0.0, 0
    nonfinite_at = None
    while chars < config.chars:
        clock.start()
        stop = min(position + truncation, length - 1)
        ends = stop + truncation > length - 1
        chunk = Chunk(streams[:, position:stop], streams[:, position + 1 : stop + 1], ends=ends)
        step = regime.train_chunk(chunk, state)
        state, position = step.state, 0 if ends else stop
        clock.stop()
        if boundary is not None:  # the SG ceiling's calibration windows, outside the timing
            boundary.observe(core, state, position)
        chars += chunk.positions
        loss_sum, loss_count = loss_sum + step.loss * chunk.positions, loss_count + chunk.positions
        if not math.isfinite(step.loss):
            nonfinite_at = chars
        if chars >= next_eval or chars >= config.chars or nonfinite_at is not None:
            curve.append(evaluate(chars, clock, loss_sum / loss_count / LN2))
            loss_sum, loss_count = 0.0, 0
            next_eval += config.eval_every
        if nonfinite_at is not None:
            break
    note = (
        f"trained on {corpus.source} (train split), checkpoint chosen on the first "
        f"{valid.numel()} characters of valid, reported on the first {test.numel()} of test"
    )
    if corpus.note:
        note += f"; {corpus.note}"
    return LMResult(config, curve, note, corpus.provenance, nonfinite_at)


__all__ = [
    "PTB_DIR_VARIABLE",
    "LMPoint",
    "LMResult",
    "corpus_of",
    "held_out_bpc",
    "ptb_folder",
    "run_char_lm",
]
