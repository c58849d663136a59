"""Data sources by name, all presenting the :class:`Dataset` interface.

The command line and the suites name data sets as strings; this registry is
the one place those names map to loaders, so an unknown or misspelt name fails
the same way everywhere, and loaders that need files on disk ask for them
before anything else runs.
"""

from __future__ import annotations

from pathlib import Path

from dnibench.data.base import BatchStream, Dataset
from dnibench.data.cifar import SUBDIRECTORY, TEST_FILE, TRAIN_FILES, load_cifar10_bin
from dnibench.data.digits import load_digits
from dnibench.data.idx import MNIST_FILES, load_mnist_idx
from dnibench.data.lm_windows import TOKEN_DATA, load_token_windows
from dnibench.data.mnist1d import load_mnist1d
from dnibench.data.synthetic import load_synthetic
from dnibench.errors import UserError, unknown_name

__all__ = ["DATA_NAMES", "TOKEN_DATA", "BatchStream", "Dataset", "load_dataset"]

DATA_NAMES = ("synthetic", "digits", "mnist1d", "mnist", "cifar10", *TOKEN_DATA)

# What a --data-dir must hold for the data sets read from disk.
_NEEDED_FILES = {
    "mnist": f"{', '.join(MNIST_FILES)} (plain or .gz)",
    "cifar10": f"{', '.join(TRAIN_FILES)} and {TEST_FILE} (directly or in {SUBDIRECTORY}/)",
}


def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    seed: int = 0,
    synthetic_shape: tuple[int, ...] = (64,),
    text_path: str | Path | None = None,
) -> Dataset:
    """Load the data set called ``name``.

    ``seed`` picks the generated data (synthetic, mnist1d) or the train/test
    split (digits); mnist and cifar10 have fixed splits and ignore it.
    ``data_dir`` is read only by mnist and cifar10, the two that live on disk.
    ``synthetic_shape`` is the per-example shape of the synthetic data, so a
    throughput run can feed whatever a model expects; for the token corpora
    (``pystdlib``, ``text`` from ``text_path``) it is ``(L,)``, the window
    length of a language model (:mod:`dnibench.data.lm_windows`).
    """
    if name not in DATA_NAMES:
        raise unknown_name("data", name, DATA_NAMES)
    if name == "synthetic":
        return load_synthetic(shape=tuple(synthetic_shape), seed=seed)
    if name == "digits":
        return load_digits(seed=seed)
    if name == "mnist1d":
        return load_mnist1d(seed=seed)
    if name in TOKEN_DATA:
        if len(synthetic_shape) != 1:
            raise UserError(
                f"data {name!r} is cut into windows of L tokens: its input shape is [L], "
                f"not {list(synthetic_shape)}"
            )
        return load_token_windows(name, int(synthetic_shape[0]), text_path)
    if data_dir is None:
        raise UserError(
            f"data {name!r} is read from disk and needs --data-dir DIR, "
            f"a directory holding {_NEEDED_FILES[name]}"
        )
    if name == "mnist":
        return load_mnist_idx(Path(data_dir))
    return load_cifar10_bin(Path(data_dir))
