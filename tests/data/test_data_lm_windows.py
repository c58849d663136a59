"""Token windows for the gpt: next-token targets, the rnn suite's corpus and vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnibench.data import DATA_NAMES, load_dataset
from dnibench.data.corpus import load_pystdlib
from dnibench.data.lm_windows import MIN_COUNT, TOKEN_DATA, token_windows
from dnibench.errors import UserError


def test_windows_predict_the_next_token_without_overlap() -> None:
    ids = torch.arange(11)
    x, y = token_windows(ids, 3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert y.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert x.data_ptr() == ids.data_ptr()  # views of the encoded text, no copy


def test_a_split_too_short_for_one_window_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no window of 5 tokens"):
        token_windows(torch.arange(5), 5)


def test_token_corpora_are_named_in_the_data_registry() -> None:
    assert set(TOKEN_DATA) <= set(DATA_NAMES)


def test_a_text_file_becomes_character_windows(tmp_path: Path) -> None:
    path = tmp_path / "tiny.txt"
    path.write_text("abcab" * 400, encoding="utf-8")
    data = load_dataset("text", synthetic_shape=(8,), text_path=path)
    assert data.num_classes == 4  # <unk>, a, b, c: characters, not bytes
    assert data.x_train.shape == ((1800 - 1) // 8, 8) and data.x_train.dtype == torch.int64
    assert torch.equal(data.x_train[:, 1:], data.y_train[:, :-1])
    assert torch.equal(data.x_train[1:, 0], data.y_train[:-1, -1])  # windows follow each other
    assert data.provenance["corpus"] == "text" and data.provenance["min_count"] == MIN_COUNT


def test_text_needs_a_path_and_windows_need_a_length(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="text_path"):
        load_dataset("text", synthetic_shape=(8,))
    with pytest.raises(UserError, match=r"input shape is \[L\]"):
        load_dataset("text", synthetic_shape=(2, 8), text_path=tmp_path / "none.txt")


def test_the_default_corpus_is_the_rnn_suites_text() -> None:
    data = load_dataset("pystdlib", synthetic_shape=(64,))
    corpus = load_pystdlib(min_count=MIN_COUNT)
    assert data.provenance["sha256"] == corpus.provenance["sha256"]
    assert data.num_classes == len(corpus.vocab)
    assert torch.equal(data.x_train[0], corpus.split("train")[:64])
    assert torch.equal(data.y_test[0], corpus.split("test")[1:65])
