import itertools
import random

import pytest
import torch

from dnibench.errors import UserError
from dnibench.models import build_model
from dnibench.split import balance_by_cost, block_costs, choose_balance, split_blocks


def _brute_force_best(costs: list[float], stages: int) -> float:
    n = len(costs)
    best = float("inf")
    for cuts in itertools.combinations(range(1, n), stages - 1):
        bounds = (0, *cuts, n)
        parts = [sum(costs[a:b]) for a, b in itertools.pairwise(bounds)]
        best = min(best, max(parts))
    return best


def test_balance_by_cost_is_optimal_and_non_empty() -> None:
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 9)
        stages = rng.randint(1, n)
        costs = [rng.uniform(0.1, 10) for _ in range(n)]
        sizes = balance_by_cost(costs, stages)
        assert len(sizes) == stages and sum(sizes) == n and min(sizes) >= 1
        bounds = [0, *itertools.accumulate(sizes)]
        worst = max(sum(costs[a:b]) for a, b in itertools.pairwise(bounds))
        assert worst == pytest.approx(_brute_force_best(costs, stages))


def test_costs_follow_flops() -> None:
    model = build_model("mlp", (64,), 10, width=32, depth=2)
    costs = block_costs(model, torch.randn(4, 64))
    # 64->32, 32->32, 32->10 linear layers: 2*B*in*out FLOPs each.
    assert costs == [2 * 4 * 64 * 32, 2 * 4 * 32 * 32, 2 * 4 * 32 * 10]


def test_more_stages_than_layers_is_a_user_error() -> None:
    model = build_model("mlp", (64,), 10, depth=3)
    with pytest.raises(UserError, match=r"4 blocks.*5 stages.*--stages 4 or fewer"):
        choose_balance(model, 5, torch.randn(2, 64))


@pytest.mark.parametrize(
    ("balance", "message"),
    [
        ((2, 0, 2), "stage 2 would be empty"),
        ((1, 1), "2 entries but --stages is 3"),
        ((1, 1, 1), "sums to 3 but model mlp has 4 blocks"),
    ],
)
def test_bad_balance_is_a_user_error(balance: tuple[int, ...], message: str) -> None:
    model = build_model("mlp", (64,), 10, depth=3)
    with pytest.raises(UserError, match=message):
        choose_balance(model, 3, torch.randn(2, 64), balance)


def test_split_shares_parameters_with_the_model() -> None:
    model = build_model("mlp", (64,), 10, depth=3)
    stages = split_blocks(model, [1, 2, 1])
    assert [len(s) for s in stages] == [1, 2, 1]
    assert stages[1][0] is model.blocks[1]
    x = torch.randn(3, 64)
    model.as_module().eval()
    h = x
    for stage in stages:
        h = stage(h)
    torch.testing.assert_close(h, model.as_module()(x))
