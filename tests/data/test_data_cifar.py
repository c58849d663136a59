"""The CIFAR-10 binary loader: round trips through small files, and a clear error per fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dnibench.data.cifar import load_cifar10_bin
from dnibench.errors import UserError

TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILE = "test_batch.bin"


def _records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, n, dtype=np.uint8), rng.integers(
        0, 256, (n, 3, 32, 32), dtype=np.uint8
    )


def _encode(labels: np.ndarray, pixels: np.ndarray) -> bytes:
    return np.concatenate([labels[:, None], pixels.reshape(len(labels), -1)], axis=1).tobytes()


def _make_cifar(directory: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Write 5 train files of 4 records and a test file of 10; return labels and pixels."""
    directory.mkdir(parents=True, exist_ok=True)
    train = [_records(4, seed) for seed in range(5)]
    for name, (labels, pixels) in zip(TRAIN_FILES, train, strict=True):
        (directory / name).write_bytes(_encode(labels, pixels))
    test_labels, test_pixels = _records(10, 99)
    (directory / TEST_FILE).write_bytes(_encode(test_labels, test_pixels))
    train_labels = np.concatenate([labels for labels, _ in train])
    train_pixels = np.concatenate([pixels for _, pixels in train])
    return train_labels, train_pixels, test_labels, test_pixels


def _unstandardise(x: torch.Tensor, train_pixels: np.ndarray) -> torch.Tensor:
    """Undo the loader's per-channel standardisation using independently computed statistics."""
    scaled = torch.from_numpy(train_pixels.astype(np.float64) / 255.0)
    mean = scaled.mean(dim=(0, 2, 3), keepdim=True)
    std = scaled.std(dim=(0, 2, 3), keepdim=True, correction=0)
    return torch.round((x.double() * std + mean) * 255).to(torch.uint8)


@pytest.mark.parametrize("nested", [False, True])
def test_round_trip(tmp_path: Path, nested: bool) -> None:
    where = tmp_path / "cifar-10-batches-bin" if nested else tmp_path
    train_labels, train_pixels, test_labels, test_pixels = _make_cifar(where)
    ds = load_cifar10_bin(tmp_path)
    assert ds.name == "cifar10" and ds.num_classes == 10
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (10, 3, 32, 32)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.y_train.tolist() == train_labels.tolist()
    assert ds.y_test.tolist() == test_labels.tolist()
    assert torch.equal(_unstandardise(ds.x_train, train_pixels), torch.from_numpy(train_pixels))
    assert torch.equal(_unstandardise(ds.x_test, train_pixels), torch.from_numpy(test_pixels))


def test_standardised_per_channel(tmp_path: Path) -> None:
    _make_cifar(tmp_path)
    ds = load_cifar10_bin(tmp_path)
    mean = ds.x_train.mean(dim=(0, 2, 3))
    std = ds.x_train.std(dim=(0, 2, 3), correction=0)
    assert torch.allclose(mean, torch.zeros(3), atol=1e-5)
    assert torch.allclose(std, torch.ones(3), atol=1e-5)
    assert not torch.allclose(ds.x_test.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)


def _error(directory: Path) -> str:
    with pytest.raises(UserError) as info:
        load_cifar10_bin(directory)
    return str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _make_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").unlink()
    message = _error(tmp_path)
    assert str(tmp_path / "data_batch_3.bin") in message
    assert "file not found" in message and "cifar-10-binary.tar.gz" in message


def test_missing_directory(tmp_path: Path) -> None:
    message = _error(tmp_path / "nowhere")
    assert "data_batch_1.bin" in message and "does not exist" in message


def test_size_not_a_multiple_of_the_record(tmp_path: Path) -> None:
    _make_cifar(tmp_path)
    path = tmp_path / TEST_FILE
    path.write_bytes(path.read_bytes()[:-100])
    message = _error(tmp_path)
    assert TEST_FILE in message and "3073" in message and str(10 * 3073 - 100) in message


def test_empty_file(tmp_path: Path) -> None:
    _make_cifar(tmp_path)
    (tmp_path / "data_batch_2.bin").write_bytes(b"")
    assert "data_batch_2.bin" in _error(tmp_path)


def test_label_out_of_range(tmp_path: Path) -> None:
    _make_cifar(tmp_path)
    path = tmp_path / "data_batch_5.bin"
    data = bytearray(path.read_bytes())
    data[2 * 3073] = 17  # the label byte of record 2
    path.write_bytes(bytes(data))
    message = _error(tmp_path)
    assert "data_batch_5.bin" in message and "label 17 in record 2" in message
