"""MNIST from the four IDX files LeCun's site distributes, plain or gzipped.

The suite never downloads anything, so the user supplies the files; a wrong,
truncated or missing file is the most likely failure. Each check therefore
ends in a :class:`UserError` that names the file, says what is wrong with it
and how to fix it, instead of a numpy reshape error deep in a stack trace.

IDX layout: a 4-byte magic (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the payload in C order.
Only type code 0x08 (unsigned byte) occurs in MNIST and only it is accepted.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import torch

from dnibench.data.base import Dataset
from dnibench.errors import UserError

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
MNIST_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

UBYTE = 0x08
IMAGES_MAGIC = (UBYTE << 8) | 3  # 0x00000803: unsigned bytes, 3 dimensions (N, H, W)
LABELS_MAGIC = (UBYTE << 8) | 1  # 0x00000801: unsigned bytes, 1 dimension (N,)
NUM_CLASSES = 10

_REDOWNLOAD = "the file is truncated or not an IDX file; download it again"


def load_mnist_idx(directory: Path) -> Dataset:
    """Load MNIST as float32 ``(N, 1, H, W)`` in [0, 1] with int64 labels from ``directory``.

    The image size is read, not assumed (IDX stores it), so MNIST look-alikes in the
    same format such as Fashion-MNIST load too; both splits must agree on it.
    """
    directory = Path(directory)
    x_train, y_train = _load_split(directory, TRAIN_IMAGES, TRAIN_LABELS)
    x_test, y_test = _load_split(directory, TEST_IMAGES, TEST_LABELS)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UserError(
            f"{directory}: training images are {tuple(x_train.shape[2:])} but test images are "
            f"{tuple(x_test.shape[2:])}; the files come from different data sets, "
            "download all four from the same source"
        )
    return Dataset(
        name="mnist",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=NUM_CLASSES,
    )


def _load_split(
    directory: Path, images_name: str, labels_name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one split's image and label files and check that they belong together."""
    images_path = _find(directory, images_name)
    labels_path = _find(directory, labels_name)
    images = read_idx(images_path, IMAGES_MAGIC, "images")
    labels = read_idx(labels_path, LABELS_MAGIC, "labels")
    if len(images) != len(labels):
        raise UserError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; the two files must come from the same split, download both again"
        )
    if len(images) == 0:
        raise UserError(f"{images_path}: holds no images; {_REDOWNLOAD}")
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise UserError(
            f"{labels_path}: label {labels[bad[0]]} at position {bad[0]} is outside "
            f"0..{NUM_CLASSES - 1}; the file is corrupt or not MNIST, download it again"
        )
    x = torch.from_numpy(images.astype(np.float32)).div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def _find(directory: Path, name: str) -> Path:
    """The path of ``name`` or ``name.gz`` in ``directory``, preferring the plain file."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    where = "" if directory.is_dir() else f" (the directory {directory} does not exist)"
    raise UserError(
        f"{directory / name}: file not found, nor {name}.gz{where}; download the four MNIST "
        f"IDX files into {directory}: {', '.join(MNIST_FILES)} (plain or .gz)"
    )


def read_idx(path: Path, expected_magic: int, what: str) -> np.ndarray:
    """Parse an unsigned-byte IDX file into a uint8 array shaped by its header.

    ``what`` names the payload ("images", "labels") in error messages.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise UserError(f"{path}: {len(data)} bytes is too short for an IDX header; {_REDOWNLOAD}")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise UserError(
            f"{path}: bad magic 0x{magic:08x}, expected 0x{expected_magic:08x} (two zero bytes, "
            f"type 0x{UBYTE:02x} for unsigned bytes, {expected_magic & 0xFF} dimensions) for an "
            f"IDX {what} file; {_REDOWNLOAD}"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(
            f"{path}: header needs {header} bytes for {ndim} dimensions, found {len(data)}; "
            f"{_REDOWNLOAD}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)
    found = len(data) - header
    if found != expected:
        shape = "x".join(str(d) for d in dims)
        raise UserError(
            f"{path}: expected {expected} bytes of {what} for shape {shape}, found {found}; "
            f"{_REDOWNLOAD}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    """The file's contents, decompressed when the name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise UserError(f"{path}: cannot be read ({exc}); {_REDOWNLOAD}") from exc
