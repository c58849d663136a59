"""The name registry: every name loads, and unknown names or missing --data-dir fail clearly."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dnibench.data import DATA_NAMES, BatchStream, Dataset, load_dataset
from dnibench.errors import UserError


def _write_tiny_mnist(directory: Path) -> None:
    for prefix, n in (("train", 12), ("t10k", 6)):
        images = np.full((n, 28, 28), 7, dtype=np.uint8)
        header = struct.pack(">IIII", 0x803, n, 28, 28)
        (directory / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        labels = (np.arange(n) % 10).astype(np.uint8)
        header = struct.pack(">II", 0x801, n)
        (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(header + labels.tobytes())


def _write_tiny_cifar(directory: Path) -> None:
    record = bytes([3]) + bytes(range(256)) * 12
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (directory / name).write_bytes(record * 2)


def test_exports() -> None:
    assert DATA_NAMES == ("synthetic", "digits", "mnist1d", "mnist", "cifar10", "pystdlib", "text")
    assert Dataset is not None and BatchStream is not None


def test_synthetic_shape_and_seed() -> None:
    ds = load_dataset("synthetic", seed=4, synthetic_shape=(2, 8))
    assert ds.input_shape == (2, 8)
    again = load_dataset("synthetic", seed=4, synthetic_shape=(2, 8))
    assert torch.equal(ds.x_train, again.x_train)
    other = load_dataset("synthetic", seed=5, synthetic_shape=(2, 8))
    assert not torch.equal(ds.x_train, other.x_train)


def test_in_memory_names_load() -> None:
    digits = load_dataset("digits", seed=0)
    assert digits.name == "digits" and digits.input_shape == (64,)
    assert load_dataset("digits", seed=0) is digits  # cached
    assert not torch.equal(load_dataset("digits", seed=1).y_train, digits.y_train)
    mnist1d = load_dataset("mnist1d", seed=0)
    assert mnist1d.name == "mnist1d" and mnist1d.input_shape == (40,)


def test_files_on_disk(tmp_path: Path) -> None:
    mnist_dir, cifar_dir = tmp_path / "mnist", tmp_path / "cifar"
    mnist_dir.mkdir()
    cifar_dir.mkdir()
    _write_tiny_mnist(mnist_dir)
    _write_tiny_cifar(cifar_dir)
    mnist = load_dataset("mnist", data_dir=str(mnist_dir))
    assert mnist.x_train.shape == (12, 1, 28, 28) and mnist.y_test.tolist() == [0, 1, 2, 3, 4, 5]
    cifar = load_dataset("cifar10", data_dir=cifar_dir)
    assert cifar.x_train.shape == (10, 3, 32, 32) and set(cifar.y_test.tolist()) == {3}


def test_unknown_name_suggests_a_close_one() -> None:
    with pytest.raises(UserError, match="Did you mean 'mnist1d'"):
        load_dataset("mnist-1d")
    with pytest.raises(UserError, match="valid datas: cifar10, digits"):
        load_dataset("imagenet")


@pytest.mark.parametrize(
    ("name", "needed"), [("mnist", "train-images-idx3-ubyte"), ("cifar10", "data_batch_1.bin")]
)
def test_missing_data_dir(name: str, needed: str) -> None:
    with pytest.raises(UserError) as info:
        load_dataset(name)
    assert "--data-dir DIR" in str(info.value) and needed in str(info.value)


@pytest.mark.parametrize(
    ("name", "needed"), [("mnist", "train-images-idx3-ubyte"), ("cifar10", "data_batch_1.bin")]
)
def test_empty_data_dir(tmp_path: Path, name: str, needed: str) -> None:
    with pytest.raises(UserError) as info:
        load_dataset(name, data_dir=tmp_path)
    assert str(tmp_path / needed) in str(info.value)
