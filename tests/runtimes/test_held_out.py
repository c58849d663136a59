"""The held-out subset a ttq evaluation scores: evenly spaced, fixed, the whole split at 0."""

from __future__ import annotations

import torch

from dnibench.data import Dataset
from dnibench.runtimes.held_out import even_subset, load_held_out
from dnibench.runtimes.spec import BenchSpec


def _dataset(test: int) -> Dataset:
    return Dataset(
        name="toy",
        x_train=torch.zeros(4, 3),
        y_train=torch.zeros(4, dtype=torch.long),
        x_test=torch.arange(test, dtype=torch.float32).unsqueeze(1).repeat(1, 3),
        y_test=torch.arange(test),
        num_classes=test,
    )


def test_the_subset_spans_the_split_from_first_to_last() -> None:
    got = even_subset(_dataset(101), 5)
    assert got.y_test.tolist() == [0, 25, 50, 75, 100]
    assert torch.equal(got.x_test[:, 0].long(), got.y_test)
    assert torch.equal(got.x_train, torch.zeros(4, 3))  # training data untouched


def test_zero_or_more_than_the_split_keeps_all_of_it() -> None:
    data = _dataset(7)
    assert even_subset(data, 0) is data
    assert even_subset(data, 7) is data
    assert even_subset(data, 50) is data


def test_the_windows_of_a_text_corpus_are_cut_to_the_count(tmp_path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("def f(x):\n    return x + 1\n" * 400)
    spec = BenchSpec(name="t", mode="1f1b", data="text", model="gpt", text_path=str(text),
                     input_shape=(8,), width=16, depth=2, stages=2)  # fmt: skip
    whole = load_held_out(spec)
    cut = load_held_out(spec, 10)
    assert len(whole.x_test) > 10 and len(cut.x_test) == 10
    assert cut.x_test.shape[1] == 8 and torch.equal(cut.x_test[0], whole.x_test[0])
    assert torch.equal(cut.y_test[-1], whole.y_test[-1])
