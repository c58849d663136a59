"""The synthetic data set: shapes, determinism and a teacher that is really learnable."""

from __future__ import annotations

import pytest
import torch

from dnibench.data.synthetic import load_synthetic
from dnibench.errors import UserError


def test_shapes_and_dtypes() -> None:
    ds = load_synthetic(shape=(3, 4, 5), num_classes=7, train_size=100, test_size=30)
    assert ds.x_train.shape == (100, 3, 4, 5)
    assert ds.x_test.shape == (30, 3, 4, 5)
    assert ds.input_shape == (3, 4, 5)
    assert ds.x_train.dtype == torch.float32
    assert ds.y_train.dtype == torch.int64 and ds.y_train.shape == (100,)
    assert ds.num_classes == 7
    assert int(ds.y_train.min()) >= 0 and int(ds.y_train.max()) < 7


def test_deterministic_in_seed() -> None:
    a, b = load_synthetic(seed=5), load_synthetic(seed=5)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)
    c = load_synthetic(seed=6)
    assert not torch.equal(a.x_train, c.x_train)
    assert not torch.equal(a.y_train, c.y_train)


def test_labels_use_every_class_and_follow_a_linear_teacher() -> None:
    ds = load_synthetic(shape=(16,), num_classes=4, train_size=2000, test_size=500, seed=1)
    counts = torch.bincount(ds.y_train, minlength=4)
    assert (counts > 200).all()  # roughly balanced, not one class
    # A least-squares linear fit on one-hot targets recovers the teacher well on held-out data.
    targets = torch.nn.functional.one_hot(ds.y_train, 4).float()
    w = torch.linalg.lstsq(ds.x_train, targets).solution
    accuracy = ((ds.x_test @ w).argmax(1) == ds.y_test).float().mean()
    assert accuracy > 0.8


def test_teacher_does_not_depend_on_split_sizes() -> None:
    small = load_synthetic(train_size=10, test_size=5, seed=2)
    large = load_synthetic(train_size=10, test_size=50, seed=2)
    assert torch.equal(small.x_train, large.x_train)
    assert torch.equal(small.y_train, large.y_train)


@pytest.mark.parametrize(
    "kwargs",
    [{"shape": ()}, {"shape": (0, 3)}, {"num_classes": 1}, {"train_size": 0}, {"test_size": 0}],
)
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(UserError):
        load_synthetic(**kwargs)
