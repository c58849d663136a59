"""Language-model windows: a character corpus cut into ``(x, y)`` pairs of ``L`` tokens.

The gpt model trains on next-token prediction over windows of ``L``
characters. The text is the rnn suite's, read by the same code
(:mod:`dnibench.data.corpus`): the default ``pystdlib`` corpus (this
interpreter's standard library, split 90 / 5 / 5 by a hash of each file's
path) or any UTF-8 file (``text``: its first 90 % trains, the rest is halved
into valid and test). The vocabulary is *characters* (Unicode code points)
of the training split seen at least :data:`MIN_COUNT` times, plus ``<unk>``
(id 0) for the rest, as in the rnn suite.

A split of ``n`` ids gives ``(n - 1) // L`` non-overlapping windows: window
``i`` reads ``x = ids[iL : iL + L]`` and predicts ``y = ids[iL + 1 : iL + L + 1]``
(each position's next character). Both are views of the encoded split, so a
window costs no memory until a batch is drawn. The data set's ``test`` is the
corpus's test split; its valid split is not read here.

Reading and encoding the library takes seconds, and every pipeline rank loads
its data: the encoded corpus is cached per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from dnibench.data.base import Dataset
from dnibench.data.corpus import CharCorpus, load_pystdlib, load_text
from dnibench.errors import UserError

#: The data names that are token corpora (a language model's data).
TOKEN_DATA = ("pystdlib", "text")
#: Characters seen fewer times in training map to ``<unk>`` (the rnn suite's default).
MIN_COUNT = 10
#: The ``text`` corpus's training share (the rnn suite's default).
TEXT_SPLIT = 0.9


def token_windows(ids: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` of shape ``(n, length)``: non-overlapping windows and their next tokens."""
    if length < 1:
        raise UserError(f"a language-model window needs at least one token, got {length}")
    count = (ids.numel() - 1) // length
    if count < 1:
        raise UserError(
            f"a split of {ids.numel()} tokens holds no window of {length} tokens and its "
            "targets; use a shorter window (input_shape) or a longer text"
        )
    x = ids[: count * length].reshape(count, length)
    y = ids[1 : count * length + 1].reshape(count, length)
    return x, y


@functools.lru_cache(maxsize=4)
def _corpus(name: str, text_path: str | None) -> CharCorpus:
    if name == "pystdlib":
        return load_pystdlib(min_count=MIN_COUNT)
    if text_path is None:
        raise UserError(
            "data 'text' reads a UTF-8 file: give text_path in the suite (or --text-path)"
        )
    return load_text(Path(text_path), split=TEXT_SPLIT, min_count=MIN_COUNT)


def load_token_windows(name: str, length: int, text_path: str | Path | None = None) -> Dataset:
    """Windows of ``length`` characters of corpus ``name`` (``pystdlib`` or ``text``)."""
    corpus = _corpus(name, None if text_path is None else str(text_path))
    x_train, y_train = token_windows(corpus.split("train"), length)
    x_test, y_test = token_windows(corpus.split("test"), length)
    return Dataset(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=len(corpus.vocab),
        provenance=corpus.provenance,
    )


def corpus_provenance(name: str, text_path: str | Path | None = None) -> dict[str, object]:
    """What identifies the text of corpus ``name``: its name, sizes, Python version and hash."""
    return dict(_corpus(name, None if text_path is None else str(text_path)).provenance)


__all__ = [
    "MIN_COUNT",
    "TEXT_SPLIT",
    "TOKEN_DATA",
    "corpus_provenance",
    "load_token_windows",
    "token_windows",
]
