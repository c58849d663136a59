"""Character corpora: PTB's three-file layout, word files as characters, plain text, unknowns."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnibench.data.corpus import (
    UNKNOWN,
    Vocabulary,
    batchify,
    char_tokens,
    load_ptb,
    load_text,
    word_line_tokens,
)
from dnibench.errors import UserError

WORDS = {
    "train": [" the cat sat on the mat ", " a dog <unk> barked "],
    "valid": [" the dog sat "],
    "test": [" zebra ate "],  # z is unseen in training
}


def write_char_files(folder: Path) -> None:
    for split, lines in WORDS.items():
        text = "\n".join(
            " _ ".join(" ".join(w) if w != "<unk>" else w for w in line.split()) for line in lines
        )
        (folder / f"ptb.char.{split}.txt").write_text(text + "\n")


def write_word_files(folder: Path) -> None:
    for split, lines in WORDS.items():
        (folder / f"ptb.{split}.txt").write_text("\n".join(lines) + "\n")


def test_three_file_layout_loads_every_split(tmp_path: Path) -> None:
    write_char_files(tmp_path)
    corpus = load_ptb(tmp_path)
    assert set(corpus.splits) == {"train", "valid", "test"}
    train = corpus.vocab.decode(corpus.split("train"))
    assert "".join(train) == "the cat sat on the mat\na dog <unk> barked\n"
    assert train.count("<unk>") == 1  # one token, not five characters
    assert "".join(corpus.vocab.decode(corpus.split("valid"))) == "the dog sat\n"


def test_word_files_become_the_same_characters(tmp_path: Path) -> None:
    chars, words = tmp_path / "chars", tmp_path / "words"
    chars.mkdir()
    words.mkdir()
    write_char_files(chars)
    write_word_files(words)
    from_chars, from_words = load_ptb(chars), load_ptb(words)
    assert from_chars.vocab == from_words.vocab
    for split in ("train", "valid", "test"):
        torch.testing.assert_close(from_chars.split(split), from_words.split(split))


def test_tokens_of_one_line() -> None:
    assert char_tokens("a _ b <unk>") == ["a", " ", "b", "<unk>", "\n"]
    assert word_line_tokens(" ab <unk> c ") == ["a", "b", " ", "<unk>", " ", "c", "\n"]


def test_unknown_characters_map_to_unk(tmp_path: Path) -> None:
    write_char_files(tmp_path)
    corpus = load_ptb(tmp_path)
    assert "z" not in corpus.vocab.tokens and corpus.vocab.tokens[0] == UNKNOWN
    test = corpus.vocab.decode(corpus.split("test"))
    assert test[0] == UNKNOWN  # the z of zebra
    assert Vocabulary.build(["b", "a", "b"]).tokens == (UNKNOWN, "a", "b")


def test_without_a_training_file_valid_trains_and_test_is_halved(tmp_path: Path) -> None:
    (tmp_path / "ptb.char.valid.txt").write_text("q _ r\n")
    (tmp_path / "ptb.char.test.txt").write_text("q _ s\nr _ q\nq _ q\ns _ s\n")
    corpus = load_ptb(tmp_path)
    assert set(corpus.vocab.tokens) == {UNKNOWN, "q", "r", " ", "\n"}
    assert "".join(corpus.vocab.decode(corpus.split("train"))) == "q r\n"
    valid = "".join(corpus.vocab.decode(corpus.split("valid")))
    test = "".join(corpus.vocab.decode(corpus.split("test")))
    assert valid == f"q {UNKNOWN}\nr q\n" and test == f"q q\n{UNKNOWN} {UNKNOWN}\n"
    assert "*valid* split" in corpus.note and "second half" in corpus.note


def test_missing_splits_name_the_folder_and_the_files(tmp_path: Path) -> None:
    (tmp_path / "ptb.char.valid.txt").write_text("q _ r\n")
    with pytest.raises(UserError) as info:
        load_ptb(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "ptb.char.train.txt" in message
    assert "holds the splits valid" in message  # what is there instead


def test_missing_folder_and_missing_split_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--data-dir .*DNIBENCH_PTB_DIR"):
        load_ptb(tmp_path / "nowhere")
    write_char_files(tmp_path)
    with pytest.raises(UserError, match="no 'dev' split; it has: train, valid, test"):
        load_ptb(tmp_path).split("dev")


def test_plain_text_splits_three_ways_in_order(tmp_path: Path) -> None:
    path = tmp_path / "book.txt"
    path.write_text("abcdefghij" * 10)
    corpus = load_text(path, split=0.8)
    sizes = {name: corpus.split(name).numel() for name in ("train", "valid", "test")}
    assert sizes == {"train": 80, "valid": 10, "test": 10}
    assert "".join(corpus.vocab.decode(corpus.split("valid"))) == "abcdefghij"
    assert corpus.provenance["corpus"] == "text" and corpus.provenance["file"] == "book.txt"
    with pytest.raises(UserError, match="--text-path"):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(UserError, match="between 0 and 1"):
        load_text(path, split=1.5)


def test_rare_training_characters_become_unknown() -> None:
    vocab = Vocabulary.build("aaabbc", min_count=2)
    assert vocab.tokens == (UNKNOWN, "a", "b")
    assert vocab.decode(vocab.encode("cab")) == [UNKNOWN, "a", "b"]


def test_provenance_hash_follows_the_text(tmp_path: Path) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("abcdefghij" * 10)
    two.write_text("abcdefghij" * 9 + "abcdefghiX")
    first, again, other = load_text(one), load_text(one), load_text(two)
    assert first.provenance["sha256"] == again.provenance["sha256"]
    assert first.provenance["sha256"] != other.provenance["sha256"]
    assert first.provenance["chars"] == {"train": 90, "valid": 5, "test": 5}


def test_batchify_makes_contiguous_streams() -> None:
    streams = batchify(torch.arange(23), 4)
    assert streams.shape == (4, 5)
    torch.testing.assert_close(streams[1], torch.arange(5, 10))
    with pytest.raises(UserError, match="batch_size"):
        batchify(torch.arange(5), 4)
