"""The settings of one recurrent benchmark, as plain data.

Two kinds of benchmark share them: ``rnn`` (a character language model, scored
in bits per character on held-out text) and ``copy`` (the copy and repeat-copy
tasks, scored by the longest sequence length a curriculum solves). Both train
one recurrent core in chunks of ``truncation`` steps under a regime:

- ``tbptt``: truncated BPTT, the state carried across chunks, the gradient
  stopped at every chunk boundary;
- ``dni-tbptt``: the same, plus a synthetic gradient at each chunk's last
  state (``aux`` adds the auxiliary prediction of the next one);
- ``tbptt-window``: TBPTT(truncation, window), an update every ``truncation``
  steps whose loss is backpropagated through ``window`` steps (tbptt_window.py).

Budgets are counted in characters (time steps times batch), so regimes with
different per-step costs compare at equal data; seconds are measured beside.
This module imports nothing heavy: the suite schema builds these objects for
every benchmark of a suite before any run starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

RECURRENT_KINDS = ("rnn", "copy")
RECURRENT_MODES = ("tbptt", "dni-tbptt", "tbptt-window")
CORPUS_NAMES = ("pystdlib", "ptb", "text")
CORPUS_SPLITS = ("train", "valid", "test")
COPY_TASKS = ("copy", "repeat-copy")
# Where a run trains (recurrent.device): the CPU unless a suite says otherwise.
RECURRENT_DEVICES = ("auto", "cuda", "cpu")


@dataclass(frozen=True)
class RecurrentConfig:
    """One recurrent benchmark: task, regime, core, budget and SG knobs.

    ``chars`` is the training budget in characters (time steps x batch);
    ``eval_every`` the evaluation cadence in characters. For ``rnn`` the corpus
    is ``data``: ``pystdlib`` (the Python standard library's source, the
    default, on every machine), ``ptb`` from ``data_dir`` or ``text`` from
    ``text_path`` (its first ``split`` trains, the rest is halved into valid
    and test); characters seen fewer than ``min_count`` times in training are
    ``<unk>``. Each evaluation scores the first ``eval_chars`` characters of
    both the valid and the test split; the run reports test BPC at its
    best-validation evaluation. For ``copy`` the task is
    ``task`` over ``symbols`` random symbols (repeat counts up to
    ``max_repeats``), a length counting as solved once the mean error over
    ``solve_window`` batches is below ``solve_bits`` bits per output character.
    """

    kind: str = "rnn"
    mode: str = "tbptt"
    truncation: int = 8
    window: int = 40
    aux: bool = False
    width: int = 128
    batch_size: int = 32
    lr: float = 2e-3
    clip: float = 1.0
    chars: int = 200_000
    eval_every: int = 20_000
    seed: int = 0
    # The seeds of repeats 0, 1, ... by name (e.g. report seeds [0, 1, 2, 3, 4] or calibration
    # seeds [100, 101, 102]); None: repeat r runs seed + r.
    seeds: tuple[int, ...] | None = None
    threads: int = 1
    device: str = "cpu"
    timeout_s: float = 300.0  # hung after this long without an optimiser step
    # character language model
    data: str = "pystdlib"
    data_dir: Path | None = None
    text_path: Path | None = None
    split: float = 0.9
    min_count: int = 10
    eval_chars: int = 100_000
    target_bpc: float | None = None
    # copy tasks
    task: str = "copy"
    symbols: int = 8
    max_repeats: int = 2
    solve_bits: float = 0.15
    solve_window: int = 5
    # synthetic gradient
    sg_hidden: int = 0
    sg_width: int | None = None
    sg_lr: float = 1e-3
    # The bootstrap discount, chosen by measurement (reports/rnn-cpu2-2026-12-01): at 1.0
    # the SG is asked for the undiscounted sum of an unending stream's future gradients and
    # blew up on the default corpus; 0.1 trained there and on PTB, and was best there.
    sg_scale: float = 0.1
    # The bootstrap discount gamma in M's target, separate from the injection scale above;
    # None means "equal to sg_scale", the single-knob behaviour (studies/recurrent/sg_knobs.py).
    sg_gamma: float | None = None
    aux_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in RECURRENT_KINDS:
            raise ValueError(f"recurrent kind must be one of {RECURRENT_KINDS}, got {self.kind!r}")
        if self.mode not in RECURRENT_MODES:
            raise ValueError(f"recurrent mode must be one of {RECURRENT_MODES}, got {self.mode!r}")
        if self.aux and self.mode != "dni-tbptt":
            raise ValueError("aux predicts a future synthetic gradient: it needs mode 'dni-tbptt'")
        if self.truncation < 1 or self.batch_size < 1 or self.width < 1 or self.chars < 1:
            raise ValueError("truncation, batch_size, width and chars must all be positive")
        if self.mode == "tbptt-window" and self.window < self.truncation:
            raise ValueError(
                f"window ({self.window}) must be at least the truncation ({self.truncation})"
            )
        if self.seeds is not None and (
            not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0
        ):
            raise ValueError(
                f"seeds must be distinct non-negative integers, got {list(self.seeds)}"
            )
        if self.device not in RECURRENT_DEVICES:
            raise ValueError(
                f"recurrent device must be one of {RECURRENT_DEVICES}, got {self.device!r}"
            )
        if self.sg_hidden not in (0, 1, 2):
            raise ValueError(f"sg_hidden must be 0, 1 or 2, got {self.sg_hidden}")

    @property
    def regime(self) -> str:
        """The regime's name as reports show it: ``tbptt``, ``dni-tbptt`` or ``dni-tbptt+aux``."""
        return self.mode + ("+aux" if self.aux else "")

    def seeded(self, repeat: int) -> RecurrentConfig:
        """This configuration at repeat ``repeat``: ``seeds[repeat]``, else seed + repeat."""
        if self.seeds is None:
            return replace(self, seed=self.seed + repeat)
        if not 0 <= repeat < len(self.seeds):
            raise ValueError(f"repeat {repeat} has no seed: seeds lists {list(self.seeds)}")
        return replace(self, seed=self.seeds[repeat])


_PATH_FIELDS = ("data_dir", "text_path")


def build_recurrent(kind: str, values: Mapping[str, Any]) -> RecurrentConfig:
    """The :class:`RecurrentConfig` of one checked suite grid point.

    Suite-only keys (name, repeats, runtime) are dropped.
    """
    known = {f.name for f in fields(RecurrentConfig)}
    given = {k: v for k, v in values.items() if k in known and k != "kind"}
    if "seeds" in given:
        given["seeds"] = tuple(int(seed) for seed in given["seeds"])
    for key in _PATH_FIELDS:
        if key in given:
            given[key] = Path(given[key]).expanduser()
    # Data paths may come later (dnibench run --data-dir / --text-path, $DNIBENCH_PTB_DIR):
    # recurrent.data_options checks them before anything runs.
    return RecurrentConfig(kind=kind, **given)


__all__ = [
    "COPY_TASKS",
    "CORPUS_NAMES",
    "CORPUS_SPLITS",
    "RECURRENT_DEVICES",
    "RECURRENT_KINDS",
    "RECURRENT_MODES",
    "RecurrentConfig",
    "build_recurrent",
]
