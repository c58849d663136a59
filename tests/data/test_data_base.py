"""Dataset invariants and BatchStream's determinism, which every pipeline stage relies on."""

from __future__ import annotations

import pytest
import torch

from dnibench.data import BatchStream, Dataset


def _stream(n: int = 23, batch_size: int = 5, seed: int = 3) -> BatchStream:
    x = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    return BatchStream(x, torch.arange(n), batch_size=batch_size, seed=seed)


def test_dataset_input_shape_and_validation() -> None:
    x = torch.zeros(4, 3, 2)
    ds = Dataset("t", x, torch.zeros(4, dtype=torch.long), x[:2], torch.zeros(2), 2)
    assert ds.input_shape == (3, 2)
    with pytest.raises(ValueError, match="differ in length"):
        Dataset("t", x, torch.zeros(3), x, torch.zeros(4), 2)
    with pytest.raises(ValueError, match="empty split"):
        Dataset("t", x, torch.zeros(4), x[:0], torch.zeros(0), 2)


def test_same_step_same_batch_in_independent_streams() -> None:
    a, b = _stream(), _stream()
    steps = list(range(20))
    sequential = [a.batch(s) for s in steps]
    # The second stream visits the steps out of order, crossing epochs back and forth.
    shuffled = {s: b.batch(s) for s in reversed(steps)}
    for s in steps:
        assert torch.equal(sequential[s][0], shuffled[s][0])
        assert torch.equal(sequential[s][1], shuffled[s][1])


def test_batches_keep_inputs_and_labels_together() -> None:
    stream = _stream()
    for step in range(10):
        x, y = stream.batch(step)
        assert x.shape == (5, 1)
        assert torch.equal(x.squeeze(1).long(), y)


def test_each_example_at_most_once_per_epoch() -> None:
    stream = _stream(n=23, batch_size=5)
    assert stream.batches_per_epoch == 4
    for epoch in range(3):
        seen = torch.cat([stream.batch(epoch * 4 + i)[1] for i in range(4)])
        assert len(seen) == 20
        assert len(torch.unique(seen)) == 20  # no repeats; the 3 left over are dropped


def test_each_example_exactly_once_when_batches_divide_the_data() -> None:
    stream = _stream(n=24, batch_size=6)
    for epoch in range(2):
        seen = torch.cat([stream.batch(epoch * 4 + i)[1] for i in range(4)])
        assert torch.equal(torch.sort(seen).values, torch.arange(24))


def test_epochs_and_seeds_reorder() -> None:
    a = _stream(n=24, batch_size=24, seed=0)
    assert not torch.equal(a.batch(0)[1], a.batch(1)[1])
    b = _stream(n=24, batch_size=24, seed=1)
    assert not torch.equal(a.batch(0)[1], b.batch(0)[1])


def test_bad_batch_size() -> None:
    with pytest.raises(ValueError):
        _stream(n=4, batch_size=0)
    with pytest.raises(ValueError, match="exceeds"):
        _stream(n=4, batch_size=5)
