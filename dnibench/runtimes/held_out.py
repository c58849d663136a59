"""The held-out set a ttq evaluation scores: the data set's test split, or an even subset of it.

A time-to-quality run evaluates the full model at every grid point
(:mod:`~dnibench.runtimes.snapshot_eval`), and the digits and MNIST-1D test
splits are small enough to score whole each time. A language model's is not:
the default corpus's test split is about 600 000 characters, and scoring it
forty times a run would cost more than the training it times. ``held_out``
then picks that many windows spread evenly over the whole split (always the
same ones: the first, the last and evenly spaced between), so the subset
samples every held-out file rather than the first few, and every regime,
seed and the reference runtime are scored on exactly the same windows.

The subset is a pure function of the split and the count: no seed enters, so
the held-out set is fixed for a workload, as the issue asks.
"""

from __future__ import annotations

import dataclasses

import torch

from dnibench.data import Dataset, load_dataset
from dnibench.runtimes.spec import BenchSpec


def even_subset(dataset: Dataset, count: int) -> Dataset:
    """``dataset`` with its test split cut to ``count`` evenly spaced examples (0: all of it)."""
    total = len(dataset.x_test)
    if count <= 0 or count >= total:
        return dataset
    index = torch.linspace(0, total - 1, count).round().long()
    return dataclasses.replace(dataset, x_test=dataset.x_test[index], y_test=dataset.y_test[index])


def load_held_out(spec: BenchSpec, held_out: int = 0, seed: int | None = None) -> Dataset:
    """``spec``'s data set (its data seed, window length and text file) with ``held_out`` test
    examples (0: the whole test split). ``seed`` overrides the spec's when it has no data seed."""
    if seed is None:
        seed = spec.seed
    data_seed = seed if spec.data_seed is None else spec.data_seed
    dataset = load_dataset(
        spec.data, seed=data_seed, synthetic_shape=spec.input_shape, text_path=spec.text_path
    )
    return even_subset(dataset, held_out)


__all__ = ["even_subset", "load_held_out"]
