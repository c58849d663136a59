"""Split a :class:`BlockModel` into K contiguous stages.

A split is a *balance*: how many consecutive blocks each stage owns, as in
torchgpipe. It is given explicitly or chosen automatically so that the most
expensive stage is as cheap as possible, cost being the forward FLOPs of each
block measured on a sample batch (parameter count where FLOPs are zero).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dnibench.errors import UserError
from dnibench.models import BlockModel


def block_costs(model: BlockModel, sample: Tensor) -> list[float]:
    """Forward FLOPs of each block on ``sample`` (no gradients, eval mode).

    Blocks with no counted FLOPs (an embedding lookup) fall back to their
    parameter count so that they still weigh something.
    """
    from torch.utils.flop_counter import FlopCounterMode  # imports dynamo: pay only when used

    costs: list[float] = []
    was_training = [block.training for block in model.blocks]
    h = sample
    with torch.no_grad():
        for block in model.blocks:
            block.eval()
            counter = FlopCounterMode(display=False)
            with counter:
                h = block(h)
            flops = float(counter.get_total_flops())
            params = float(sum(p.numel() for p in block.parameters()))
            costs.append(flops if flops > 0 else max(params, 1.0))
    for block, mode in zip(model.blocks, was_training, strict=True):
        block.train(mode)
    return costs


def balance_by_cost(costs: Sequence[float], stages: int) -> list[int]:
    """Contiguous partition of ``costs`` into ``stages`` non-empty parts.

    Minimises the largest part's total by dynamic programming (exact, and
    cheap for the few dozen blocks a model has); ties go to the earliest
    split so results are deterministic.
    """
    n = len(costs)
    if not 1 <= stages <= n:
        raise ValueError(f"cannot split {n} blocks into {stages} stages")
    prefix = [0.0]
    for cost in costs:
        prefix.append(prefix[-1] + cost)
    inf = float("inf")
    # best[k][i]: minimal max-part cost of splitting the first i blocks into k parts.
    best = [[inf] * (n + 1) for _ in range(stages + 1)]
    cut = [[0] * (n + 1) for _ in range(stages + 1)]
    best[0][0] = 0.0
    for k in range(1, stages + 1):
        for i in range(k, n + 1):
            for j in range(k - 1, i):
                value = max(best[k - 1][j], prefix[i] - prefix[j])
                if value < best[k][i]:
                    best[k][i] = value
                    cut[k][i] = j
    sizes: list[int] = []
    i = n
    for k in range(stages, 0, -1):
        j = cut[k][i]
        sizes.append(i - j)
        i = j
    return sizes[::-1]


def check_balance(balance: Sequence[int], num_blocks: int, stages: int, model_name: str) -> None:
    """Raise a :class:`UserError` unless ``balance`` is a valid split."""
    if len(balance) != stages:
        raise UserError(
            f"--balance has {len(balance)} entries but --stages is {stages}; "
            "give one block count per stage"
        )
    for index, size in enumerate(balance):
        if size < 1:
            raise UserError(
                f"--balance entry {index + 1} is {size}: stage {index + 1} would be empty; "
                "every stage needs at least one block"
            )
    if sum(balance) != num_blocks:
        raise UserError(
            f"--balance sums to {sum(balance)} but model {model_name} has {num_blocks} blocks; "
            f"make the entries add up to {num_blocks}"
        )


def choose_balance(
    model: BlockModel, stages: int, sample: Tensor, balance: Sequence[int] | None = None
) -> list[int]:
    """The balance to use: ``balance`` if given (validated), else by cost."""
    if stages < 1:
        raise UserError(f"--stages must be at least 1, got {stages}")
    if stages > len(model):
        raise UserError(
            f"model {model.name} has {len(model)} blocks (layers); it cannot be split into "
            f"{stages} stages. Use --stages {len(model)} or fewer, or a deeper model "
            f"(--depth {stages - 1} or more)"
        )
    if balance is not None:
        check_balance(balance, len(model), stages, model.name)
        return list(balance)
    return balance_by_cost(block_costs(model, sample), stages)


def split_blocks(model: BlockModel, balance: Sequence[int]) -> list[nn.Sequential]:
    """The stage modules for ``balance``; they share the model's parameters."""
    check_balance(balance, len(model), len(balance), model.name)
    stages: list[nn.Sequential] = []
    start = 0
    for size in balance:
        stages.append(nn.Sequential(*model.blocks[start : start + size]))
        start += size
    return stages
