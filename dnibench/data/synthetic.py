"""Gaussian inputs labelled by a random linear teacher, for throughput benchmarks.

Throughput runs need data that costs nothing to make, has any input shape a
model asks for, and still carries a learnable signal, so that a run which
trains nothing (a broken backward pass, a synthetic gradient stuck at zero)
shows up as chance-level accuracy instead of passing silently. Labels are the
argmax of a fixed random linear map of the flattened input: a linear model can
reach 100% on them, so any model should beat chance quickly.
"""

from __future__ import annotations

import math

import torch

from dnibench.data.base import Dataset
from dnibench.errors import UserError


def load_synthetic(
    shape: tuple[int, ...] = (64,),
    num_classes: int = 10,
    train_size: int = 4096,
    test_size: int = 1024,
    seed: int = 0,
) -> Dataset:
    """Draw ``x ~ N(0, 1)`` of per-example ``shape`` and label it with a seeded linear teacher.

    The teacher ``W`` is drawn first from the seeded generator, so it does not
    depend on the split sizes: the same seed gives the same task whatever the
    sizes. Everything is a pure function of the arguments.
    """
    shape = tuple(int(d) for d in shape)
    if not shape or any(d < 1 for d in shape):
        raise UserError(f"synthetic shape {shape} must have at least one dimension, all positive")
    if num_classes < 2:
        raise UserError(f"synthetic num_classes is {num_classes}; it must be at least 2")
    if train_size < 1 or test_size < 1:
        raise UserError(
            f"synthetic train_size {train_size} and test_size {test_size} must both be positive"
        )
    features = math.prod(shape)
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(features, num_classes, generator=gen)
    x_train = torch.randn(train_size, *shape, generator=gen)
    x_test = torch.randn(test_size, *shape, generator=gen)
    return Dataset(
        name="synthetic",
        x_train=x_train,
        y_train=_label(x_train, teacher),
        x_test=x_test,
        y_test=_label(x_test, teacher),
        num_classes=num_classes,
    )


def _label(x: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Class of each example: the teacher's highest-scoring output."""
    return (x.reshape(len(x), -1) @ teacher).argmax(dim=1).to(torch.int64)
