"""The MNIST IDX loader: round trips through small files, and a clear error for each fault."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dnibench.data.idx import load_mnist_idx
from dnibench.errors import UserError

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"


def _idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Encode a uint8 array as IDX; ``magic`` overrides the correct header word."""
    if magic is None:
        magic = 0x0800 | array.ndim
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write(path: Path, data: bytes, gz: bool) -> None:
    if gz:
        with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def _make_mnist(
    directory: Path, n_train: int = 20, n_test: int = 10, side: int = 28, gz: bool = False
) -> dict[str, np.ndarray]:
    """Write a small, valid MNIST-format data set and return the arrays written."""
    rng = np.random.default_rng(0)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    arrays[TRAIN_IMAGES][0, 0, 0] = 255  # make sure both ends of the pixel range occur
    arrays[TRAIN_IMAGES][0, 0, 1] = 0
    for name, array in arrays.items():
        _write(directory / name, _idx_bytes(array), gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip(tmp_path: Path, gz: bool) -> None:
    arrays = _make_mnist(tmp_path, gz=gz)
    ds = load_mnist_idx(tmp_path)
    assert ds.name == "mnist" and ds.num_classes == 10
    assert ds.x_train.shape == (20, 1, 28, 28) and ds.x_test.shape == (10, 1, 28, 28)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert float(ds.x_train.max()) == 1.0 and float(ds.x_train.min()) == 0.0
    pixels = torch.round(ds.x_train.squeeze(1) * 255).to(torch.uint8)
    assert torch.equal(pixels, torch.from_numpy(arrays[TRAIN_IMAGES]))
    pixels = torch.round(ds.x_test.squeeze(1) * 255).to(torch.uint8)
    assert torch.equal(pixels, torch.from_numpy(arrays[TEST_IMAGES]))
    assert ds.y_train.tolist() == arrays[TRAIN_LABELS].tolist()
    assert ds.y_test.tolist() == arrays[TEST_LABELS].tolist()


def test_mixed_plain_and_gz_and_other_image_sizes(tmp_path: Path) -> None:
    arrays = _make_mnist(tmp_path, side=5)
    (tmp_path / TEST_LABELS).unlink()
    _write(tmp_path / TEST_LABELS, _idx_bytes(arrays[TEST_LABELS]), gz=True)
    ds = load_mnist_idx(str(tmp_path))  # a plain string works too
    assert ds.input_shape == (1, 5, 5)
    assert ds.y_test.tolist() == arrays[TEST_LABELS].tolist()


def _error(directory: Path) -> str:
    with pytest.raises(UserError) as info:
        load_mnist_idx(directory)
    return str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _make_mnist(tmp_path)
    (tmp_path / TEST_IMAGES).unlink()
    message = _error(tmp_path)
    assert str(tmp_path / TEST_IMAGES) in message
    assert "file not found" in message and "download the four MNIST IDX files" in message


def test_missing_directory(tmp_path: Path) -> None:
    message = _error(tmp_path / "nowhere")
    assert TRAIN_IMAGES in message and "does not exist" in message


def test_wrong_magic(tmp_path: Path) -> None:
    arrays = _make_mnist(tmp_path)
    # Label file's header on an image file: the classic mix-up of two downloads.
    (tmp_path / TRAIN_IMAGES).write_bytes(_idx_bytes(arrays[TRAIN_IMAGES], magic=0x00000801))
    message = _error(tmp_path)
    assert TRAIN_IMAGES in message
    assert "bad magic 0x00000801, expected 0x00000803" in message
    assert "download it again" in message


def test_not_an_idx_file(tmp_path: Path) -> None:
    _make_mnist(tmp_path)
    (tmp_path / TRAIN_LABELS).write_bytes(b"<html>404</html>")
    message = _error(tmp_path)
    assert TRAIN_LABELS in message and "bad magic 0x3c68746d" in message


def test_truncated_payload(tmp_path: Path) -> None:
    arrays = _make_mnist(tmp_path)
    data = _idx_bytes(arrays[TRAIN_IMAGES])
    (tmp_path / TRAIN_IMAGES).write_bytes(data[: 16 + 1000])
    message = _error(tmp_path)
    assert TRAIN_IMAGES in message
    assert f"expected {20 * 28 * 28} bytes of images" in message and "found 1000" in message
    assert "truncated" in message


def test_truncated_header(tmp_path: Path) -> None:
    arrays = _make_mnist(tmp_path)
    (tmp_path / TEST_IMAGES).write_bytes(_idx_bytes(arrays[TEST_IMAGES])[:10])
    message = _error(tmp_path)
    assert TEST_IMAGES in message and "header" in message


def test_corrupt_gzip(tmp_path: Path) -> None:
    _make_mnist(tmp_path, gz=True)
    path = tmp_path / f"{TEST_LABELS}.gz"
    path.write_bytes(path.read_bytes()[:15])
    message = _error(tmp_path)
    assert f"{TEST_LABELS}.gz" in message and "download it again" in message


def test_count_mismatch(tmp_path: Path) -> None:
    arrays = _make_mnist(tmp_path)
    (tmp_path / TRAIN_LABELS).write_bytes(_idx_bytes(arrays[TRAIN_LABELS][:19]))
    message = _error(tmp_path)
    assert TRAIN_IMAGES in message and TRAIN_LABELS in message
    assert "20 images" in message and "19 labels" in message


def test_label_out_of_range(tmp_path: Path) -> None:
    arrays = _make_mnist(tmp_path)
    labels = arrays[TEST_LABELS].copy()
    labels[3] = 10
    (tmp_path / TEST_LABELS).write_bytes(_idx_bytes(labels))
    message = _error(tmp_path)
    assert TEST_LABELS in message and "label 10 at position 3" in message


def test_splits_with_different_image_sizes(tmp_path: Path) -> None:
    _make_mnist(tmp_path)
    small = np.zeros((10, 5, 5), dtype=np.uint8)
    (tmp_path / TEST_IMAGES).write_bytes(_idx_bytes(small))
    assert "different data sets" in _error(tmp_path)
