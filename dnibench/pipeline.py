"""Build the stages of a pipeline: model, split, regime modules, optimisers.

Every runtime builds its stages here from the same seed, so a stage owns the
same initial parameters whichever process or stream runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from dnibench.models import BlockModel, build_model
from dnibench.optim import OptimConfig
from dnibench.precision import DEFAULT_DTYPE, cast_input, torch_dtype
from dnibench.regimes.regime import Regime
from dnibench.regimes.stage import Stage
from dnibench.regimes.synthetic_gradient import SGConfig, SyntheticGradient
from dnibench.regimes.synthetic_input import SIConfig, SyntheticInput
from dnibench.split import choose_balance, split_blocks


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that decides a pipeline's stages and their initial state."""

    model: str = "mlp"
    width: int | None = None
    depth: int | None = None
    stages: int = 2
    balance: tuple[int, ...] | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    sg: SGConfig = field(default_factory=SGConfig)
    si: SIConfig = field(default_factory=SIConfig)
    seed: int = 0
    dtype: str = DEFAULT_DTYPE


@dataclass
class Pipeline:
    """The built stages, the model they came from, and the split used."""

    model: BlockModel
    stages: list[Stage]
    balance: list[int]
    activation_shapes: list[tuple[int, ...]]


def activation_shapes(modules: Sequence[nn.Module], sample: Tensor) -> list[tuple[int, ...]]:
    """Per-example output shape of each stage module, probed in eval mode.

    Eval mode and no_grad leave BatchNorm running statistics untouched, so
    the probe does not perturb the training trajectory.
    """
    shapes: list[tuple[int, ...]] = []
    h = sample
    with torch.no_grad():
        for module in modules:
            was_training = module.training
            module.eval()
            h = module(h)
            module.train(was_training)
            shapes.append(tuple(h.shape[1:]))
    return shapes


def build_pipeline(
    config: PipelineConfig,
    regime: Regime,
    input_shape: tuple[int, ...],
    num_classes: int,
    sample: Tensor,
) -> Pipeline:
    """Build ``config.stages`` stages of ``config.model`` for ``regime``.

    ``sample`` is a small batch of real inputs: it sizes the modules and
    prices the blocks when the balance is chosen by cost.
    """
    torch.manual_seed(config.seed)
    model = build_model(
        config.model, input_shape, num_classes, width=config.width, depth=config.depth
    )
    dtype = torch_dtype(config.dtype)
    model.blocks.to(dtype)  # before anything reads the model: split and shapes see its precision
    sample = cast_input(sample, dtype)
    balance = choose_balance(model, config.stages, sample, config.balance)
    modules = split_blocks(model, balance)
    shapes = activation_shapes(modules, sample)
    torch.manual_seed(config.seed + 1)
    tokens = model.vocab_size  # a language model: SG and SI work per token
    stages: list[Stage] = []
    for index, module in enumerate(modules):
        last = index == len(modules) - 1
        sg = None
        if regime.synthetic_gradients and not last:
            context = num_classes if regime.context else 0
            sg = SyntheticGradient(
                shapes[index], config.sg, context_size=context, tokens=tokens is not None
            )
        si = None
        if regime.synthetic_inputs and index > 0:
            si = SyntheticInput(input_shape, shapes[index - 1], config.si, vocab_size=tokens)
        for extra in (sg, si):
            if extra is not None:
                extra.to(dtype)  # parameter identity kept: their Adam state follows in dtype
        stages.append(
            Stage(
                index,
                len(modules),
                module,
                loss_fn=model.loss,
                optimizer=config.optim.build(module),
                sg=sg,
                si=si,
                num_classes=num_classes,
                dtype=dtype,
            )
        )
    return Pipeline(model=model, stages=stages, balance=balance, activation_shapes=shapes)
