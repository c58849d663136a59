"""Shared fixtures: small real data and a helper to build pipelines."""

from __future__ import annotations

import pytest
import torch

from dnibench.data import Dataset, load_dataset


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    """Keep each test on one intra-op thread so results do not depend on the machine."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)
