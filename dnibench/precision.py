"""The arithmetic precision of a run: one setting, ``fp32`` or ``bf16``, for every layer.

A pipeline computes in one dtype end to end: the model's parameters, the
activations and gradients stages send each other (and the buffers that
receive them), the SG and SI modules and every optimiser's state. Mixing
them would either fail (a bf16 message into a float32 receive buffer) or
quietly measure something else (a bf16 model behind float32 links moves
twice the bytes). So the setting is a name that travels with the spec and
is turned into a ``torch.dtype`` here, in one place, and inputs read from
a data set in float32 are cast here too (integer inputs, such as token ids
and labels, are left alone).

bf16 is what GPUs train in; on a CPU without bf16 matrix units it is
usually slower than fp32, so the CPU profiles keep fp32.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dnibench.errors import UserError

DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}
"""Every precision a run may name, and the torch dtype it computes in."""

DEFAULT_DTYPE = "fp32"
"""What a benchmark runs in unless it says otherwise (the CPU profiles)."""

GPU_DTYPE = "bf16"
"""The GPU profiles' precision: what large models are trained in on one."""


def check_dtype(name: str, where: str = "dtype") -> str:
    """``name`` if it is a known precision, else a :class:`UserError` saying what to write."""
    if name not in DTYPES:
        raise UserError(
            f"{where}: unknown dtype {name!r}; write dtype = "
            + " or ".join(f'"{known}"' for known in DTYPES)
        )
    return name


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of precision ``name`` (checked)."""
    return DTYPES[check_dtype(name)]


def dtype_name(dtype: torch.dtype) -> str:
    """The precision's name for ``dtype`` (the inverse of :func:`torch_dtype`)."""
    for name, known in DTYPES.items():
        if known == dtype:
            return name
    raise ValueError(f"{dtype} is not a precision dnibench runs in")


def cast_input(tensor: Tensor, dtype: torch.dtype) -> Tensor:
    """``tensor`` in ``dtype`` if it holds real numbers; ids and labels unchanged."""
    if tensor.is_floating_point() and tensor.dtype != dtype:
        return tensor.to(dtype)
    return tensor


__all__ = [
    "DEFAULT_DTYPE", "DTYPES", "GPU_DTYPE", "cast_input", "check_dtype", "dtype_name",
    "torch_dtype",
]  # fmt: skip
