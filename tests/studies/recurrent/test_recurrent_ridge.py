"""The ridge behind the SG ceiling: a known linear map scores R^2 near 1, noise near 0."""

from __future__ import annotations

import math

import torch

from dnibench.studies.recurrent.ridge import (
    RidgeScore,
    choose_alpha,
    fit_ridge,
    mean_cosine,
    r2,
    ridge_score,
)


def data(rows: int, seed: int, noise: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 12, generator=generator)
    weight = torch.randn(12, 5, generator=torch.Generator().manual_seed(99))
    y = x @ weight + 0.5 + noise * torch.randn(rows, 5, generator=generator)
    return x, y, weight


def test_a_known_linear_map_scores_r2_near_one_held_out() -> None:
    x, y, weight = data(400, 0, noise=0.01)
    x_held, y_held, _ = data(200, 1, noise=0.01)
    score = ridge_score(x, y, x_held, y_held)
    assert score.r2 > 0.999
    assert score.cosine > 0.999
    model = fit_ridge(x, y, score.alpha)
    torch.testing.assert_close(model.weight.float(), weight, atol=5e-3, rtol=0)


def test_pure_noise_scores_r2_near_zero_held_out() -> None:
    generator = torch.Generator().manual_seed(3)
    x, y = torch.randn(400, 12, generator=generator), torch.randn(400, 5, generator=generator)
    x_held, y_held = (
        torch.randn(300, 12, generator=generator),
        torch.randn(300, 5, generator=generator),
    )
    score = ridge_score(x, y, x_held, y_held)
    assert abs(score.r2) < 0.05
    assert abs(score.cosine) < 0.1
    # with noise, cross-validation prefers a strong penalty over the weakest one
    assert choose_alpha(x, y) > 1.0


def test_the_scores_themselves() -> None:
    target = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    assert r2(target, target) == 1.0
    assert math.isclose(r2(target.mean(0).expand_as(target), target), 0.0, abs_tol=1e-12)
    assert math.isclose(mean_cosine(target, 2 * target), 1.0)
    assert math.isnan(r2(target[:1], target[:1]))


def test_too_few_rows_is_not_measured() -> None:
    x, y, _ = data(6, 0, noise=0.1)
    assert math.isnan(ridge_score(x, y, x, y).r2)
    assert math.isnan(RidgeScore.missing().cosine)
