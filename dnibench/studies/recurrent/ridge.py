"""Ridge regression in closed form, with its penalty chosen by cross-validation.

The SG ceiling (:mod:`ceiling`) asks: how well could *any* linear synthetic
gradient predict the realised future gradient from the boundary state? A
ridge regression fitted on calibration windows and scored on held-out ones
answers it. Written here in a few lines of torch (no scikit-learn): fit
``W = (X'X + alpha I)^-1 X'Y`` on centred data, with the intercept the
means' difference, and pick ``alpha`` from a grid scaled by the features'
mean variance (so one grid fits states of any size) by k-fold CV.

Scores: ``r2`` is 1 - SSE / SST pooled over every output (SST about the
scored rows' own mean), so predicting that mean scores 0 and noise scores
about 0 or below; ``mean_cosine`` is the mean over rows of the cosine
between prediction and target, as the SG probe reports it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

#: Penalties relative to the features' mean variance (times the row count).
RELATIVE_ALPHAS = tuple(10.0**k for k in range(-4, 4))
FOLDS = 5


@dataclass(frozen=True)
class Ridge:
    """A fitted ridge map ``y = x @ weight + bias``."""

    weight: Tensor
    bias: Tensor
    alpha: float

    def __call__(self, x: Tensor) -> Tensor:
        return x @ self.weight + self.bias


def fit_ridge(x: Tensor, y: Tensor, alpha: float) -> Ridge:
    """Closed-form ridge of ``y`` (N, k) on ``x`` (N, d), intercept unpenalised, in float64."""
    x64, y64 = x.double(), y.double()
    x_mean, y_mean = x64.mean(0), y64.mean(0)
    xc, yc = x64 - x_mean, y64 - y64.mean(0)
    gram = xc.T @ xc + alpha * torch.eye(x.shape[1], dtype=torch.float64)
    weight = torch.linalg.solve(gram, xc.T @ yc)
    return Ridge(weight, y_mean - x_mean @ weight, alpha)


def r2(prediction: Tensor, target: Tensor) -> float:
    """1 - SSE / SST pooled over all outputs (NaN when the target does not vary)."""
    target64 = target.double()
    total = float(((target64 - target64.mean(0)) ** 2).sum())
    if total == 0 or target.shape[0] < 2:
        return math.nan
    return 1.0 - float(((prediction.double() - target64) ** 2).sum()) / total


def mean_cosine(prediction: Tensor, target: Tensor) -> float:
    """Mean over rows of cos(prediction, target)."""
    return float(F.cosine_similarity(prediction.double(), target.double(), dim=1).mean())


def alpha_grid(x: Tensor) -> list[float]:
    """:data:`RELATIVE_ALPHAS` times the centred features' summed variance per feature."""
    xc = x.double() - x.double().mean(0)
    scale = float((xc**2).sum()) / max(1, x.shape[1])
    return [a * (scale if scale > 0 else 1.0) for a in RELATIVE_ALPHAS]


def choose_alpha(x: Tensor, y: Tensor, folds: int = FOLDS) -> float:
    """The grid's penalty with the least k-fold CV squared error (contiguous folds)."""
    rows = x.shape[0]
    folds = max(2, min(folds, rows))
    edges = [round(i * rows / folds) for i in range(folds + 1)]
    best, best_error = math.nan, math.inf
    for alpha in alpha_grid(x):
        error = 0.0
        for lo, hi in itertools.pairwise(edges):
            keep = torch.ones(rows, dtype=torch.bool)
            keep[lo:hi] = False
            model = fit_ridge(x[keep], y[keep], alpha)
            error += float(((model(x[lo:hi].double()) - y[lo:hi].double()) ** 2).sum())
        if error < best_error:
            best, best_error = alpha, error
    return best


@dataclass(frozen=True)
class RidgeScore:
    """A ridge fitted on calibration rows and scored on held-out rows."""

    r2: float
    cosine: float
    alpha: float

    @classmethod
    def missing(cls) -> RidgeScore:
        return cls(math.nan, math.nan, math.nan)


def ridge_score(
    x_calibration: Tensor, y_calibration: Tensor, x_held: Tensor, y_held: Tensor
) -> RidgeScore:
    """Choose alpha by CV on the calibration rows, refit on all of them, score held out."""
    if x_calibration.shape[0] < 2 * FOLDS or x_held.shape[0] < 2:
        return RidgeScore.missing()
    alpha = choose_alpha(x_calibration, y_calibration)
    model = fit_ridge(x_calibration, y_calibration, alpha)
    predicted = model(x_held.double())
    return RidgeScore(r2(predicted, y_held), mean_cosine(predicted, y_held), alpha)


__all__ = [
    "FOLDS",
    "RELATIVE_ALPHAS",
    "Ridge",
    "RidgeScore",
    "alpha_grid",
    "choose_alpha",
    "fit_ridge",
    "mean_cosine",
    "r2",
    "ridge_score",
]
