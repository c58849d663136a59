"""CIFAR-10 from the "binary version" archive (cifar-10-binary.tar.gz).

The binary version is read because it needs neither pickle (which executes
code from the file) nor any third-party package. Each record is one label byte
followed by 3072 pixel bytes: the red, green and blue 32x32 planes in turn.
Like the MNIST loader, every problem with the user's files becomes a
:class:`UserError` naming the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dnibench.data.base import Dataset
from dnibench.errors import UserError

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
SUBDIRECTORY = "cifar-10-batches-bin"
CHANNELS, SIDE = 3, 32
RECORD = 1 + CHANNELS * SIDE * SIDE  # 3073 bytes
NUM_CLASSES = 10

_SOURCE = (
    "the CIFAR-10 binary version, cifar-10-binary.tar.gz from "
    "https://www.cs.toronto.edu/~kriz/cifar.html"
)


def load_cifar10_bin(directory: Path) -> Dataset:
    """Load CIFAR-10 as float32 ``(N, 3, 32, 32)`` standardised per channel with train statistics.

    ``directory`` may hold the six ``.bin`` files or the ``cifar-10-batches-bin``
    folder the archive extracts to. Pixels are scaled to [0, 1] and then each
    channel is shifted and scaled by the training split's mean and standard
    deviation, so test data sees exactly the transform training data saw.
    """
    directory = Path(directory)
    root = _resolve(directory)
    x_train, y_train = _read_files([root / name for name in TRAIN_FILES], directory)
    x_test, y_test = _read_files([root / TEST_FILE], directory)
    std, mean = torch.std_mean(x_train, dim=(0, 2, 3), keepdim=True, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))  # a constant channel stays put
    for x in (x_train, x_test):
        x.sub_(mean).div_(std)
    return Dataset(
        name="cifar10",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        num_classes=NUM_CLASSES,
    )


def _resolve(directory: Path) -> Path:
    """``directory`` itself, or its extracted archive folder when only that holds the files."""
    nested = directory / SUBDIRECTORY
    if not (directory / TRAIN_FILES[0]).is_file() and nested.is_dir():
        return nested
    return directory


def _read_files(paths: list[Path], directory: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate the records of ``paths`` into pixels in [0, 1] and int64 labels."""
    records = np.concatenate([_read_records(path, directory) for path in paths])
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    pixels = records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE)
    x = torch.from_numpy(pixels.astype(np.float32)).div_(255.0)
    return x, labels


def _read_records(path: Path, directory: Path) -> np.ndarray:
    """One file's records as a uint8 array of shape ``(n, 3073)``, after checking them."""
    if not path.is_file():
        where = "" if directory.is_dir() else f" (the directory {directory} does not exist)"
        raise UserError(
            f"{path}: file not found{where}; download {_SOURCE} and extract it into {directory} "
            f"so that it holds {', '.join(TRAIN_FILES)} and {TEST_FILE} "
            f"(directly or in {SUBDIRECTORY}/)"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc}); download {_SOURCE} again") from exc
    if len(data) == 0 or len(data) % RECORD:
        raise UserError(
            f"{path}: {len(data)} bytes is not a positive multiple of the {RECORD}-byte record "
            "(1 label byte + 3072 pixel bytes); the file is truncated or not from the binary "
            f"version (the python and matlab versions do not work here); download {_SOURCE}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    bad = np.flatnonzero(records[:, 0] >= NUM_CLASSES)
    if bad.size:
        raise UserError(
            f"{path}: label {records[bad[0], 0]} in record {bad[0]} is outside "
            f"0..{NUM_CLASSES - 1}; the file is corrupt or not CIFAR-10 (CIFAR-100 records "
            f"carry two label bytes), download {_SOURCE}"
        )
    return records
