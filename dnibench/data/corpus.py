"""Character corpora for language modelling: the Python library, Penn Treebank, any text file.

Penn Treebank (Mikolov's preprocessing) ships as ``ptb.char.{train,valid,test}.txt``:
one sentence a line, tokens separated by spaces, ``_`` standing for a space
between words and ``<unk>`` kept as one token (the rare-word marker). The word
files ``ptb.{train,valid,test}.txt`` hold the same sentences as words; they are
turned into the same character tokens, so either layout gives one corpus. Every
line ends with a newline token, which the model predicts too.

Every corpus has three splits: ``train`` (trained on), ``valid`` (read for
checkpoint selection: the best-validation evaluation) and ``test`` (reported
at that checkpoint), so no choice is made on the text a figure is quoted on.

- ``pystdlib`` (the default, :mod:`pystdlib`): split by a hash of each file's path.
- ``ptb``: the three files; where only PTB's valid and test files are present
  (as on the machines this project runs on), ``valid`` trains, the first half
  of ``test`` validates and its second half tests, and :attr:`CharCorpus.note`
  says so.
- ``text``: one file, its first ``split`` fraction trains, the rest is halved
  (in order) into valid and test.

The vocabulary is built from the training split only, with an ``<unk>``
entry: held-out characters never seen in training, and characters seen fewer
than ``min_count`` times there, map to it instead of failing. Nothing is
fetched: a missing file is an error naming the path and what to put there.
Every corpus carries :attr:`CharCorpus.provenance` (what it was read from, its
size and a hash of its text) so runs on different text are never compared as
if they were one workload.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dnibench.data.pystdlib import SPLIT_SHARES, corpus_hash, read_stdlib
from dnibench.errors import UserError

CORPUS_SPLITS = tuple(name for name, _ in SPLIT_SHARES)
UNKNOWN = "<unk>"
NEWLINE = "\n"
SPACE_MARK = "_"


@dataclass(frozen=True)
class Vocabulary:
    """Characters (tokens) to ids and back; id 0 is ``<unk>``."""

    tokens: tuple[str, ...]

    @classmethod
    def build(cls, text: list[str] | str, min_count: int = 1) -> Vocabulary:
        """The tokens of ``text`` seen at least ``min_count`` times, sorted (order-independent)."""
        counts = Counter(text)
        kept = {token for token, count in counts.items() if count >= min_count}
        return cls((UNKNOWN, *sorted(kept - {UNKNOWN})))

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: list[str] | str) -> torch.Tensor:
        """Ids of ``text`` as a 1-D long tensor; unseen characters become ``<unk>`` (0)."""
        index = {token: i for i, token in enumerate(self.tokens)}
        return torch.tensor([index.get(token, 0) for token in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> list[str]:
        """The characters of ``ids``."""
        return [self.tokens[int(i)] for i in ids]


@dataclass(frozen=True)
class CharCorpus:
    """Encoded splits of one corpus, all with the training split's vocabulary.

    ``note`` says where each split came from when that is not the obvious
    file of the same name; ``provenance`` identifies the text (see
    :func:`provenance_of`).
    """

    vocab: Vocabulary
    splits: dict[str, torch.Tensor]
    source: str
    note: str = ""
    provenance: dict[str, object] = field(default_factory=dict)

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


def provenance_of(
    name: str, texts: dict[str, str] | dict[str, list[str]], vocab: Vocabulary, **extra: object
) -> dict[str, object]:
    """What identifies a corpus: its name, characters per split, vocabulary size and text hash."""
    joined = {split: "".join(text) for split, text in texts.items()}
    return {
        "corpus": name,
        **extra,
        "chars": {split: len(text) for split, text in texts.items()},
        "vocab": len(vocab),
        "sha256": corpus_hash(joined),
    }


def _encoded(
    name: str,
    texts: dict[str, str] | dict[str, list[str]],
    source: str,
    min_count: int,
    note: str = "",
    **extra: object,
) -> CharCorpus:
    vocab = Vocabulary.build(texts["train"], min_count)
    splits = {split: vocab.encode(text) for split, text in texts.items()}
    provenance = provenance_of(name, texts, vocab, min_count=min_count, **extra)
    return CharCorpus(vocab, splits, source, note, provenance)


def load_ptb(folder: Path, min_count: int = 1) -> CharCorpus:
    """Penn Treebank characters from ``folder`` as train / valid / test.

    Splits are read from ``ptb.char.SPLIT.txt`` or, failing that, from the word
    file ``ptb.SPLIT.txt``. With all three present they are used as they are.
    With no training file but valid and test present, valid trains and test
    is halved (in order) into valid and test; the corpus's note says so.
    """
    folder = Path(folder).expanduser()
    expected = (
        "ptb.char.train.txt, ptb.char.valid.txt, ptb.char.test.txt (or the word files "
        "ptb.train.txt, ptb.valid.txt, ptb.test.txt)"
    )
    if not folder.is_dir():
        raise UserError(
            f"PTB folder {folder} does not exist: pass --data-dir (or set DNIBENCH_PTB_DIR, "
            f"or data_dir in the suite) to the folder holding {expected}"
        )
    found = {s: t for s in CORPUS_SPLITS if (t := _split_tokens(folder, s)) is not None}
    if set(found) == set(CORPUS_SPLITS):
        return _encoded("ptb", found, str(folder), min_count, folder=folder.name)
    if "valid" in found and "test" in found and "train" not in found:
        test = found["test"]
        middle = _line_boundary(test, len(test) // 2)
        texts = {"train": found["valid"], "valid": test[:middle], "test": test[middle:]}
        note = (
            "PTB's training file is absent here: trained on PTB's *valid* split, validated on "
            "the first half of PTB's *test* split, tested on its second half"
        )
        return _encoded("ptb", texts, str(folder), min_count, note, folder=folder.name)
    raise UserError(
        f"PTB folder {folder} holds the splits {', '.join(found) or 'none'}: it needs "
        f"{expected}, or at least the valid and test files"
    )


def _line_boundary(tokens: list[str], near: int) -> int:
    """The first index at or after ``near`` that starts a line (a clean cut)."""
    for index in range(max(near, 1), len(tokens)):
        if tokens[index - 1] == NEWLINE:
            return index
    return near


def load_text(path: Path, split: float = 0.9, min_count: int = 1) -> CharCorpus:
    """A plain text file as characters: the first ``split`` trains, the rest is valid | test.

    The held-out remainder is halved in order: its first half validates, its
    second half tests.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(
            f"text file {path} does not exist: pass --text-path (or text_path in the suite) "
            "naming a readable UTF-8 text file"
        )
    if not 0 < split < 1:
        raise UserError(f"split must be between 0 and 1 (exclusive), got {split}")
    text = _read(path)
    cut = int(len(text) * split)
    middle = cut + (len(text) - cut) // 2
    if cut < 2 or middle - cut < 2 or len(text) - middle < 2:
        raise UserError(f"text file {path} is too short ({len(text)} characters) to split")
    texts = {"train": text[:cut], "valid": text[cut:middle], "test": text[middle:]}
    return _encoded("text", texts, str(path), min_count, file=path.name, split=split)


def load_pystdlib(min_count: int = 10, root: Path | None = None) -> CharCorpus:
    """The Python standard library's source (see :mod:`dnibench.data.pystdlib`)."""
    source = read_stdlib(root)
    return _encoded(
        "pystdlib",
        source.texts,
        f"the Python {source.python} standard library",
        min_count,
        python=source.python,
        files=source.files,
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
    "load_pystdlib",
    "load_text",
    "provenance_of",
    "word_line_tokens",
]
