"""The scikit-learn 8x8 digits: a small real image task that needs no download.

It is the smallest real data set the suite can always load, so tests and quick
benchmarks use it to check that a regime actually learns on natural inputs.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from dnibench.data.base import Dataset
from dnibench.errors import UserError


@functools.lru_cache(maxsize=8)
def load_digits(seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """Load the 1797 digits as float32 ``(N, 64)`` with a seeded stratified split.

    Pixels (0..16) are scaled to [0, 1] and then standardised with one mean and
    one standard deviation taken over all training pixels. A single scalar,
    rather than one per pixel, because several border pixels are almost always
    zero: per-pixel standardisation divides by a near-zero spread and turns a
    stray ink dot into a value of about 50, which would dominate a first layer.
    The split is stratified by class so that both splits hold all ten digits in
    the same proportions whatever the seed.

    Cached per ``(seed, test_fraction)``; the returned :class:`Dataset` is
    shared, so do not modify its tensors in place.
    """
    # Imported here: scikit-learn takes about a second to import, and only this
    # loader needs it.
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise UserError(f"digits test_fraction is {test_fraction}; it must lie strictly in (0, 1)")
    x, y = sklearn_digits(return_X_y=True)
    x = x.astype(np.float32) / 16.0
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=y
        )
    except ValueError as exc:  # a fraction too small or large to hold every class
        raise UserError(f"digits test_fraction {test_fraction} cannot be split: {exc}") from exc
    mean = x_train.mean()
    std = x_train.std()
    return Dataset(
        name="digits",
        x_train=torch.from_numpy((x_train - mean) / std),
        y_train=torch.from_numpy(y_train.astype(np.int64)),
        x_test=torch.from_numpy((x_test - mean) / std),
        y_test=torch.from_numpy(y_test.astype(np.int64)),
        num_classes=10,
    )
