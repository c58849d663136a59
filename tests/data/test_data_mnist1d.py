"""The MNIST-1D loader: shapes, determinism, and leaving the global RNGs alone."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from dnibench.data.mnist1d import load_mnist1d
from dnibench.errors import UserError


def test_default_shapes_and_dtypes() -> None:
    ds = load_mnist1d()
    assert ds.x_train.shape == (4000, 40) and ds.x_test.shape == (1000, 40)
    assert ds.x_train.dtype == torch.float32
    assert ds.y_train.dtype == torch.int64 and ds.y_test.shape == (1000,)
    assert ds.num_classes == 10
    assert set(ds.y_train.tolist()) == set(range(10))


def test_deterministic_in_seed() -> None:
    a = load_mnist1d(num_samples=200, seed=7)
    load_mnist1d.cache_clear()
    b = load_mnist1d(num_samples=200, seed=7)
    assert a is not b
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert a.x_train.shape == (160, 40) and a.x_test.shape == (40, 40)
    c = load_mnist1d(num_samples=200, seed=8)
    assert not torch.equal(a.x_train, c.x_train)


def test_restores_global_random_state() -> None:
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    load_mnist1d.cache_clear()  # make sure the generator really runs
    load_mnist1d(num_samples=100, seed=9)
    assert np.random.rand() == expected_np
    assert random.random() == expected_py


def test_too_few_samples() -> None:
    with pytest.raises(UserError, match="num_samples"):
        load_mnist1d(num_samples=5)
