"""The scikit-learn digits loader: split, scaling and determinism."""

from __future__ import annotations

import pytest
import torch

from dnibench.data.digits import load_digits
from dnibench.errors import UserError


def test_shapes_dtypes_and_split() -> None:
    ds = load_digits(seed=0)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.x_train.shape[1:] == (64,) and ds.x_test.shape[1:] == (64,)
    assert len(ds.x_train) + len(ds.x_test) == 1797
    assert len(ds.x_test) == 360  # ceil(0.2 * 1797)
    assert ds.num_classes == 10
    assert set(ds.y_test.tolist()) == set(range(10))


def test_standardised_with_train_statistics() -> None:
    ds = load_digits(seed=0)
    assert abs(float(ds.x_train.mean())) < 1e-4
    assert abs(float(ds.x_train.std(correction=0)) - 1.0) < 1e-4
    assert abs(float(ds.x_test.mean())) < 0.1  # close to, but not fitted on, the test split
    assert float(ds.x_test.abs().max()) < 5  # no blown-up near-constant pixels


def test_stratified() -> None:
    ds = load_digits(seed=3)
    train = torch.bincount(ds.y_train, minlength=10).float() / len(ds.y_train)
    test = torch.bincount(ds.y_test, minlength=10).float() / len(ds.y_test)
    assert (train - test).abs().max() < 0.01


def test_deterministic_in_seed() -> None:
    a = load_digits(seed=1)
    load_digits.cache_clear()  # compare a fresh load, not the cached object
    b = load_digits(seed=1)
    assert a is not b
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    c = load_digits(seed=2)
    assert not torch.equal(a.y_train, c.y_train)


def test_test_fraction() -> None:
    ds = load_digits(seed=0, test_fraction=0.5)
    assert len(ds.x_test) == 899
    for bad in (0.0, 1.0, 0.001):
        with pytest.raises(UserError, match="test_fraction"):
            load_digits(seed=0, test_fraction=bad)
