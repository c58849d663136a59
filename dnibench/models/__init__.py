"""Model registry: every architecture is built as a :class:`BlockModel`.

``conv`` is the 2-D conv net (images, or square vectors such as 8x8 digits);
``conv1d`` convolves along a signal (MNIST-1D's 40 samples); ``gpt`` is a
decoder-only transformer language model over windows of token ids.
"""

from __future__ import annotations

from dnibench.errors import UserError, unknown_name
from dnibench.models.blocks import BlockModel, classification_loss, count_correct
from dnibench.models.conv import build_conv
from dnibench.models.conv1d import build_conv1d
from dnibench.models.gpt import build_gpt
from dnibench.models.lstm import build_lstm
from dnibench.models.mlp import build_mlp

MODEL_NAMES = ("mlp", "conv", "conv1d", "lstm", "gpt")
#: Models that read token ids and predict a token per position (the rest classify examples).
LANGUAGE_MODELS = ("gpt",)

DEFAULT_WIDTH = {"mlp": 256, "conv": 32, "conv1d": 32, "lstm": 128, "gpt": 128}
DEFAULT_DEPTH = {"mlp": 3, "conv": 3, "conv1d": 3, "lstm": 2, "gpt": 4}


def build_model(
    name: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    width: int | None = None,
    depth: int | None = None,
) -> BlockModel:
    """Build model ``name`` for examples of ``input_shape`` and ``num_classes``.

    ``width`` and ``depth`` default per model (see ``DEFAULT_WIDTH`` and
    ``DEFAULT_DEPTH``); ``depth`` counts hidden layers, so the model has
    ``depth + 1`` blocks including its classifier (for ``gpt``: ``depth``
    transformer blocks, the embedding riding with the first, and the head).
    ``num_classes`` is a language model's vocabulary size.
    """
    if name not in MODEL_NAMES:
        raise unknown_name("model", name, MODEL_NAMES)
    width = DEFAULT_WIDTH[name] if width is None else width
    depth = DEFAULT_DEPTH[name] if depth is None else depth
    if width < 1 or depth < 0:
        raise UserError(f"model {name}: width must be >= 1 and depth >= 0 (got {width}, {depth})")
    try:
        if name == "mlp":
            return build_mlp(input_shape, num_classes, width=width, depth=depth)
        if name == "conv":
            return build_conv(input_shape, num_classes, width=width, depth=depth)
        if name == "conv1d":
            return build_conv1d(input_shape, num_classes, width=width, depth=depth)
        if name == "gpt":
            return build_gpt(input_shape, num_classes, width=width, depth=depth)
        return build_lstm(input_shape, num_classes, width=width, depth=depth)
    except ValueError as err:
        raise UserError(f"model {name}: {err}") from None


__all__ = [
    "LANGUAGE_MODELS",
    "MODEL_NAMES",
    "BlockModel",
    "build_model",
    "classification_loss",
    "count_correct",
]
