"""The asynchronous modes as textbook loops: the reference their runtimes are held to.

Each rule is written the way a paper states it, one microbatch at a time in
a single process, with every weight version an explicit copy in a dict:

- ``pipedream``: stage k (0-based) of K runs microbatch i, forward and
  backward, on version max(0, i - (K - k - 1)); after microbatch i every
  stage applies its gradient to its latest version i, giving version i + 1.
- ``pipedream-2bw``: every microbatch of step s runs on version max(0, s - 1);
  the step's m gradients are summed and applied to version s, giving s + 1.
- ``pipemare``: microbatch i's forward on version max(0, i - (K - k - 1)),
  its backward on version i; each layer with weights is a function of its
  input and weights whose input gradient is its vector-Jacobian product at
  the backward's weights and whose weight gradient is the product at the
  saved input (any layer, by type: Linear, Conv1d/2d, BatchNorm, LayerNorm,
  Embedding); everything else is plain autograd.

It shares no schedule, driver or stage code with the runtimes: only the
model builder (the same initial weights) and the optimiser class. Losses are
scaled and learning rates set by the modes' documented rules (docs/async.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn import functional as F

from dnibench.data import BatchStream, load_dataset
from dnibench.pipeline import build_pipeline
from dnibench.regimes.asynchronous import PIPEMARE_DECAY, PIPEMARE_WARMUP_UPDATES
from dnibench.regimes.local_loss import HEAD_SEED_OFFSET, auxiliary_head
from dnibench.runtimes.spec import BenchSpec

Weights = dict[str, Tensor]


def _version(mode: str, stage: int, stages: int, mb: int, per_step: int) -> int:
    """The weight version microbatch ``mb`` uses on ``stage`` (the papers' delay rules)."""
    if mode == "pipedream":
        return max(0, mb - (stages - stage - 1))
    if mode == "pipedream-2bw":
        return max(0, mb // per_step - 1)
    raise ValueError(f"no textbook rule for {mode}")


Tables = list[dict[int, int]]


def reference_run(spec: BenchSpec) -> tuple[list[Weights], Tables, Tables]:
    """Each stage's final parameters and buffers, and its microbatch -> version tables
    (forward, backward)."""
    if spec.mode.startswith("pipemare"):
        return pipemare_reference_run(spec)
    if spec.mode == "dgl":
        return dgl_reference_run(spec)
    dataset = load_dataset(spec.data, seed=spec.seed, synthetic_shape=spec.input_shape)
    pipeline = build_pipeline(
        spec.pipeline_config,
        spec.regime,
        dataset.input_shape,
        dataset.num_classes,
        dataset.x_train[: min(spec.batch_size, 64)],
    )
    modules = [stage.module for stage in pipeline.stages]
    optimizers = [stage.optimizer for stage in pipeline.stages]
    stages, m = len(modules), spec.microbatches
    per_microbatch = spec.mode == "pipedream"
    scale = 1.0 if per_microbatch else 1.0 / m
    if per_microbatch:
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] / m
    params = [{n: p for n, p in module.named_parameters()} for module in modules]
    versions: list[dict[int, Weights]] = [
        {0: {n: p.detach().clone() for n, p in ps.items()}} for ps in params
    ]
    used: list[dict[int, int]] = [{} for _ in modules]
    summed: list[Weights] = [{} for _ in modules]
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    for step in range(spec.steps):
        xs, ys = (t.chunk(m) for t in stream.batch(step))
        for offset in range(m):
            mb = step * m + offset
            # Forward, each stage on its version of the weights.
            h, saved = xs[offset], []
            for k, module in enumerate(modules):
                version = _version(spec.mode, k, stages, mb, m)
                used[k][mb] = version
                weights = {
                    n: t.clone().requires_grad_(True) for n, t in versions[k][version].items()
                }
                inp = h if k == 0 else h.detach().requires_grad_(True)
                out = functional_call(module, weights, (inp,))
                saved.append((inp, out, weights))
                h = out
            loss = pipeline.model.loss(h, ys[offset]) * scale
            # Backward through the same versions, stage by stage.
            grad: Tensor | None = None
            for k in reversed(range(stages)):
                inp, out, weights = saved[k]
                root = loss if k == stages - 1 else out
                targets = ([inp] if k > 0 else []) + list(weights.values())
                grads = torch.autograd.grad(root, targets, grad)
                if k > 0:
                    grad, grads = grads[0], grads[1:]
                for name, value in zip(weights, grads, strict=True):
                    before = summed[k].get(name)
                    summed[k][name] = value if before is None else before + value
            # Update: after every microbatch, or after the step's last.
            if per_microbatch or offset == m - 1:
                for k in range(stages):
                    for name, param in params[k].items():
                        param.grad = summed[k][name]
                    optimizers[k].step()
                    optimizers[k].zero_grad(set_to_none=True)
                    summed[k] = {}
                    latest = max(versions[k])
                    versions[k][latest + 1] = {n: p.detach().clone() for n, p in params[k].items()}
    return [module.state_dict() for module in modules], used, used


__all__ = ["reference_run"]


class _Tape:
    """One stage's weights for the microbatch in hand: the forward's version, then the
    backward's (live, corrected); the weight gradients the backward produced."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.forward: Weights = {}
        self.backward: Weights = {}
        self.grads: Weights = {}

    def name(self, param: Tensor | None) -> str:
        assert param is not None
        return self.names[id(param)]


def _vjp(fn: Callable[[Tensor], Tensor], at: Tensor, grad: Tensor) -> Tensor:
    """The vector-Jacobian product grad^T d fn / d at, at ``at``."""
    with torch.enable_grad():
        leaf = at.detach().requires_grad_(True)
        (value,) = torch.autograd.grad(fn(leaf), [leaf], grad)
    return value


class _Textbook(torch.autograd.Function):
    """A layer with weights under PipeMare's rule: the value with the forward's weights;
    the input gradient the layer's VJP in its input *at the backward's weights*; the weight
    gradient its VJP in the weights at the saved input. ``layer_fn(x, weights)`` is the
    layer as a function of its input and weights, ``keys`` the weights' names (weight,
    then bias if any), ``anchor`` the live weight."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, layer_fn: Any, tape: _Tape, keys: list[str], anchor: Tensor
    ) -> Tensor:
        # ``anchor`` (the layer's live weight) only gives the output a gradient function
        # where nothing else would (the first layer): the weights used are the tape's.
        ctx.save_for_backward(x)
        ctx.layer_fn, ctx.tape, ctx.keys = layer_fn, tape, keys
        return layer_fn(x, [tape.forward[key] for key in keys])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        tape, keys, layer_fn = ctx.tape, ctx.keys, ctx.layer_fn
        live = [tape.backward[key] for key in keys]
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = _vjp(lambda at: layer_fn(at, live), x, grad)
        for index, key in enumerate(keys):
            others = list(live)

            def of_weight(w: Tensor, index: int = index, others: list[Tensor] = others) -> Tensor:
                return layer_fn(x, [*others[:index], w, *others[index + 1 :]])

            tape.grads[key] = _vjp(of_weight, live[index], grad)
        return grad_x, None, None, None, None


def _textbook_forward(layer: nn.Module, tape: _Tape) -> Callable[[Tensor], Tensor]:
    """``layer``'s forward under the rule, written per layer type from its definition."""
    anchor = layer.weight
    keys = [
        tape.name(p)
        for p in (getattr(layer, "weight", None), getattr(layer, "bias", None))
        if p is not None
    ]
    if isinstance(layer, nn.Linear):
        return lambda x: _Textbook.apply(x, lambda x, w: F.linear(x, *w), tape, keys, anchor)
    if isinstance(layer, nn.Conv1d | nn.Conv2d):
        conv = F.conv1d if isinstance(layer, nn.Conv1d) else F.conv2d
        options = (layer.stride, layer.padding, layer.dilation, layer.groups)

        def convolve(x: Tensor, w: list[Tensor]) -> Tensor:
            return conv(x, w[0], w[1] if len(w) > 1 else None, *options)  # type: ignore[arg-type]

        return lambda x: _Textbook.apply(x, convolve, tape, keys, anchor)
    if isinstance(layer, nn.Embedding):
        padding = layer.padding_idx
        return lambda ids: _Textbook.apply(
            ids, lambda i, w: F.embedding(i, w[0], padding), tape, keys, anchor
        )
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):

        def batch_norm(x: Tensor) -> Tensor:
            # Train-mode batch norm, running statistics updated as nn.BatchNorm does; the
            # affine part y = x_hat * w + b per channel acts on the normalised input.
            assert layer.num_batches_tracked is not None
            layer.num_batches_tracked.add_(1)
            x_hat = F.batch_norm(
                x, layer.running_mean, layer.running_var, None, None, True, layer.momentum,
                layer.eps,
            )  # fmt: skip
            view = [1, -1] + [1] * (x.dim() - 2)
            return _Textbook.apply(
                x_hat, lambda h, w: h * w[0].view(view) + w[1].view(view), tape, keys, anchor
            )

        return batch_norm
    if isinstance(layer, nn.LayerNorm):
        shape, eps = tuple(layer.normalized_shape), layer.eps

        def layer_norm(x: Tensor) -> Tensor:
            # The layer's own value; gradients through the affine part on x_hat.
            weight, bias = (
                (tape.forward[key] for key in keys)
                if len(keys) == 2
                else (tape.forward[keys[0]], None)
            )
            value = F.layer_norm(x.detach(), shape, weight, bias, eps)
            x_hat = F.layer_norm(x, shape, None, None, eps)
            affine = _Textbook.apply(
                x_hat, lambda h, w: h * w[0] + w[1] if len(w) > 1 else h * w[0], tape, keys, anchor
            )
            return value + (affine - affine.detach())

        return layer_norm
    raise ValueError(f"no textbook PipeMare rule for {type(layer).__name__}")


def pipemare_reference_run(spec: BenchSpec) -> tuple[list[Weights], Tables, Tables]:
    """PipeMare as a textbook loop, every weight version an explicit copy.

    Microbatch i runs its forward on stage k's version max(0, i - d), d = K - k - 1,
    and its backward once version i is live: each layer with weights differentiates its
    input at version i (minus min(i, d) times the velocity, with the correction) and its
    weights at the stored layer input. Returns parameters and the version tables.
    """
    dataset = load_dataset(
        spec.data, seed=spec.seed, synthetic_shape=spec.input_shape, text_path=spec.text_path
    )
    pipeline = build_pipeline(
        spec.pipeline_config,
        spec.regime,
        dataset.input_shape,
        dataset.num_classes,
        dataset.x_train[: min(spec.batch_size, 64)],
    )
    modules = [stage.module for stage in pipeline.stages]
    optimizers = [stage.optimizer for stage in pipeline.stages]
    stages, m = len(modules), spec.microbatches
    corrected = spec.mode == "pipemare"
    base = [[g["lr"] / m for g in opt.param_groups] for opt in optimizers]
    params = [dict(module.named_parameters()) for module in modules]
    tapes = [_Tape({id(p): n for n, p in ps.items()}) for ps in params]
    for module, tape in zip(modules, tapes, strict=True):
        for layer in module.modules():
            if any(True for _ in layer.parameters(recurse=False)):
                layer.forward = _textbook_forward(layer, tape)  # type: ignore[method-assign]
    versions: list[dict[int, Weights]] = [
        {0: {n: p.detach().clone() for n, p in ps.items()}} for ps in params
    ]
    velocity: list[Weights] = [{} for _ in modules]
    forward_used: Tables = [{} for _ in modules]
    backward_used: Tables = [{} for _ in modules]
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    for step in range(spec.steps):
        xs, ys = (t.chunk(m) for t in stream.batch(step))
        for offset in range(m):
            mb = step * m + offset
            h, saved = xs[offset], []
            for k, module in enumerate(modules):
                forward_used[k][mb] = max(0, mb - (stages - k - 1))
                tapes[k].forward = versions[k][forward_used[k][mb]]
                inp = h if k == 0 else h.detach().requires_grad_(True)
                h = module(inp)
                saved.append((inp, h))
            loss = pipeline.model.loss(h, ys[offset])
            grad: Tensor | None = None
            for k in reversed(range(stages)):
                behind = min(mb, stages - k - 1)
                backward_used[k][mb] = mb
                tapes[k].backward = {
                    name: value - behind * velocity[k][name]
                    if corrected and behind and name in velocity[k]
                    else value
                    for name, value in versions[k][mb].items()
                }
                inp, out = saved[k]
                if k == stages - 1:
                    loss.backward()
                else:
                    out.backward(grad)
                grad = inp.grad if k > 0 else None
                for name, param in params[k].items():
                    param.grad = tapes[k].grads.pop(name)
            for k in range(stages):
                delay = stages - k - 1
                ramp = min(mb / PIPEMARE_WARMUP_UPDATES, 1.0)
                for group, lr in zip(optimizers[k].param_groups, base[k], strict=True):
                    group["lr"] = lr * (delay + 1) ** -(1.0 - ramp) if corrected else lr
                optimizers[k].step()
                optimizers[k].zero_grad(set_to_none=True)
                new = {n: p.detach().clone() for n, p in params[k].items()}
                if corrected:
                    decay = PIPEMARE_DECAY ** (1.0 / (delay + 1))
                    for name, value in new.items():
                        moved = value - versions[k][mb][name]
                        old = velocity[k].get(name)
                        velocity[k][name] = (
                            (1 - decay) * moved
                            if old is None
                            else decay * old + (1 - decay) * moved
                        )
                versions[k][mb + 1] = new
    return [module.state_dict() for module in modules], forward_used, backward_used


def dgl_reference_run(spec: BenchSpec) -> tuple[list[Weights], Tables, Tables]:
    """Synchronous DGL as a textbook loop: per step, per microbatch, each stage in turn
    trains (accumulates) on its head's loss over its detached input, the last stage on the
    true loss; every stage and head then takes one optimiser step."""
    dataset = load_dataset(spec.data, seed=spec.seed, synthetic_shape=spec.input_shape)
    pipeline = build_pipeline(
        spec.pipeline_config,
        spec.regime,
        dataset.input_shape,
        dataset.num_classes,
        dataset.x_train[: min(spec.batch_size, 64)],
    )
    modules = [stage.module for stage in pipeline.stages]
    torch.manual_seed(spec.seed + HEAD_SEED_OFFSET)
    heads = [
        auxiliary_head(shape, dataset.num_classes, pipeline.model.task)
        for shape in pipeline.activation_shapes[:-1]
    ]
    optimizers = [stage.optimizer for stage in pipeline.stages]
    for optimizer, head in zip(optimizers, heads, strict=False):
        optimizer.add_param_group({"params": list(head.parameters())})
    m = spec.microbatches
    used: Tables = [{} for _ in modules]
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    for step in range(spec.steps):
        xs, ys = (t.chunk(m) for t in stream.batch(step))
        for offset in range(m):
            h = xs[offset]
            for k, module in enumerate(modules):
                used[k][step * m + offset] = step
                out = module(h.detach())
                logits = heads[k](out) if k < len(heads) else out
                (pipeline.model.loss(logits, ys[offset]) * (1.0 / m)).backward()
                h = out
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return [module.state_dict() for module in modules], used, used
