"""Character corpora for language modelling: Penn Treebank's layout, or any text file.

Penn Treebank (Mikolov's preprocessing) ships as ``ptb.char.{train,valid,test}.txt``:
one sentence a line, tokens separated by spaces, ``_`` standing for a space
between words and ``<unk>`` kept as one token (the rare-word marker). The word
files ``ptb.{train,valid,test}.txt`` hold the same sentences as words; they are
turned into the same character tokens, so either layout gives one corpus. Every
line ends with a newline token, which the model predicts too.

The vocabulary is built from the training split only, with an ``<unk>``
entry, so held-out characters never seen in training map to it instead of
failing. Nothing is fetched: a missing file is an error naming the path and
what to put there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dnibench.errors import UserError

UNKNOWN = "<unk>"
NEWLINE = "\n"
SPACE_MARK = "_"


@dataclass(frozen=True)
class Vocabulary:
    """Characters (tokens) to ids and back; id 0 is ``<unk>``."""

    tokens: tuple[str, ...]

    @classmethod
    def build(cls, text: list[str]) -> Vocabulary:
        """The vocabulary of ``text`` (sorted, so it does not depend on text order)."""
        return cls((UNKNOWN, *sorted(set(text) - {UNKNOWN})))

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: list[str]) -> torch.Tensor:
        """Ids of ``text`` as a 1-D long tensor; unseen characters become ``<unk>`` (0)."""
        index = {token: i for i, token in enumerate(self.tokens)}
        return torch.tensor([index.get(token, 0) for token in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> list[str]:
        """The characters of ``ids``."""
        return [self.tokens[int(i)] for i in ids]


@dataclass(frozen=True)
class CharCorpus:
    """Encoded splits of one corpus, all with the training split's vocabulary."""

    vocab: Vocabulary
    splits: dict[str, torch.Tensor]
    source: str

    def split(self, name: str) -> torch.Tensor:
        """The ids of split ``name``; a UserError lists the splits there are."""
        if name not in self.splits:
            have = ", ".join(self.splits)
            raise UserError(f"corpus {self.source} has no {name!r} split; it has: {have}")
        return self.splits[name]


def char_tokens(line: str) -> list[str]:
    """One line of a ``ptb.char.*`` file as character tokens, ending with a newline."""
    return [" " if token == SPACE_MARK else token for token in line.split()] + [NEWLINE]


def word_line_tokens(line: str) -> list[str]:
    """One line of a ``ptb.*`` word file as the character tokens its char file would hold."""
    tokens: list[str] = []
    for position, word in enumerate(line.split()):
        if position:
            tokens.append(" ")
        tokens.extend([word] if word == UNKNOWN else list(word))
    return [*tokens, NEWLINE]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read corpus file {path}: {error}") from None


def _split_tokens(folder: Path, split: str) -> list[str] | None:
    """A PTB split from its char file, else from its word file; None if neither exists."""
    char_file = folder / f"ptb.char.{split}.txt"
    word_file = folder / f"ptb.{split}.txt"
    if char_file.is_file():
        return [
            t for line in _read(char_file).splitlines() if line.strip() for t in char_tokens(line)
        ]
    if word_file.is_file():
        lines = _read(word_file).splitlines()
        return [t for line in lines if line.strip() for t in word_line_tokens(line)]
    return None


def load_ptb(folder: Path, train_split: str = "train") -> CharCorpus:
    """Penn Treebank characters from ``folder``; the vocabulary comes from ``train_split``.

    Splits are read from ``ptb.char.SPLIT.txt`` or, failing that, from the word
    file ``ptb.SPLIT.txt``. Absent splits are simply absent; the training split
    must exist.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UserError(
            f"PTB folder {folder} does not exist: set data_dir to the folder holding "
            "ptb.char.train.txt, ptb.char.valid.txt, ptb.char.test.txt "
            "(or the word files ptb.*.txt)"
        )
    texts = {
        s: t for s in ("train", "valid", "test") if (t := _split_tokens(folder, s)) is not None
    }
    if train_split not in texts:
        raise UserError(
            f"no training text: neither {folder / f'ptb.char.{train_split}.txt'} nor "
            f"{folder / f'ptb.{train_split}.txt'} exists. Put the split there, or set "
            f"train_split to one of the splits present ({', '.join(texts) or 'none'})"
        )
    vocab = Vocabulary.build(texts[train_split])
    splits = {name: vocab.encode(text) for name, text in texts.items()}
    return CharCorpus(vocab, splits, str(folder))


def load_text(path: Path, split: float = 0.9) -> CharCorpus:
    """Any plain text file as characters: the first ``split`` fraction trains, the rest is held out.

    The held-out part is called ``valid``; ``test`` is the same text, so a
    suite written for PTB's split names runs on a plain file too.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"text file {path} does not exist: set text_path to a readable text file")
    if not 0 < split < 1:
        raise UserError(f"split must be between 0 and 1 (exclusive), got {split}")
    text = list(_read(path))
    cut = int(len(text) * split)
    if cut < 2 or len(text) - cut < 2:
        raise UserError(f"text file {path} is too short ({len(text)} characters) to split")
    vocab = Vocabulary.build(text[:cut])
    held_out = vocab.encode(text[cut:])
    return CharCorpus(
        vocab, {"train": vocab.encode(text[:cut]), "valid": held_out, "test": held_out}, str(path)
    )


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``ids`` cut into ``batch_size`` parallel streams, shape ``(batch_size, length)``.

    Stream b reads the b-th contiguous slice of the text, so consecutive chunks
    of one row continue each other (what a stateful model needs).
    """
    length = ids.numel() // batch_size
    if length < 2:
        raise UserError(
            f"{ids.numel()} characters are too few for {batch_size} streams; lower batch_size"
        )
    return ids[: length * batch_size].reshape(batch_size, length)


__all__ = [
    "UNKNOWN",
    "CharCorpus",
    "Vocabulary",
    "batchify",
    "char_tokens",
    "load_ptb",
    "load_text",
    "word_line_tokens",
]
