"""The asynchronous modes as textbook loops: the reference their runtimes are held to.

Each rule is written the way a paper states it, one microbatch at a time in
a single process, with every weight version an explicit copy in a dict:

- ``pipedream``: stage k (0-based) of K runs microbatch i, forward and
  backward, on version max(0, i - (K - k - 1)); after microbatch i every
  stage applies its gradient to its latest version i, giving version i + 1.
- ``pipedream-2bw``: every microbatch of step s runs on version max(0, s - 1);
  the step's m gradients are summed and applied to version s, giving s + 1.

It shares no schedule, driver or stage code with the runtimes: only the
model builder (the same initial weights) and the optimiser class. Losses are
scaled and learning rates set by the modes' documented rules (docs/async.md).
"""

from __future__ import annotations

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


def _leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def pipemare_reference_run(spec: BenchSpec) -> tuple[list[Weights], Tables, Tables]:
    """PipeMare as a textbook loop, by hand, layer by layer (Linear, BatchNorm1d, others).

    Microbatch i runs its forward on stage k's version max(0, i - d), d = K - k - 1,
    and its backward once version i is live: input gradients through version i
    (minus min(i, d) times the velocity, with the correction), weight gradients
    from the stored layer inputs. Returns parameters and the backward-version tables.
    """
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
    corrected = spec.mode == "pipemare"
    base = [[g["lr"] / m for g in opt.param_groups] for opt in optimizers]
    params = [dict(module.named_parameters()) for module in modules]
    names = [{id(p): n for n, p in ps.items()} for ps in params]
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
            h, tapes = xs[offset], []
            for k, module in enumerate(modules):
                forward_used[k][mb] = max(0, mb - (stages - k - 1))
                ahead = versions[k][forward_used[k][mb]]
                tape = []
                for layer in _leaves(module):
                    x = h.detach().requires_grad_()
                    if isinstance(layer, nn.Linear):
                        w, b = ahead[names[k][id(layer.weight)]], ahead[names[k][id(layer.bias)]]
                        out = F.linear(x, w, b)
                    elif isinstance(layer, nn.BatchNorm1d):
                        assert layer.num_batches_tracked is not None
                        layer.num_batches_tracked.add_(1)
                        x_hat = F.batch_norm(
                            x, layer.running_mean, layer.running_var, None, None, True,
                            layer.momentum, layer.eps,
                        )  # fmt: skip
                        w, b = ahead[names[k][id(layer.weight)]], ahead[names[k][id(layer.bias)]]
                        out = x_hat.detach() * w.view(1, -1) + b.view(1, -1)
                        tape.append((layer, x, x_hat))
                        h = out
                        continue
                    else:
                        out = layer(x)
                    tape.append((layer, x, out))
                    h = out
                tapes.append(tape)
            logits = h.detach().requires_grad_()
            loss = pipeline.model.loss(logits, ys[offset])
            (grad,) = torch.autograd.grad(loss, [logits])
            for k in reversed(range(stages)):
                behind = min(mb, stages - k - 1)
                live = versions[k][mb]
                backward_used[k][mb] = mb

                def now(
                    name: str, k: int = k, live: Weights = live, behind: int = behind
                ) -> Tensor:
                    weights = live[name]
                    if corrected and behind and name in velocity[k]:
                        weights = weights - behind * velocity[k][name]
                    return weights

                for layer, x, saved in reversed(tapes[k]):
                    if isinstance(layer, nn.Linear):
                        flat = grad.reshape(-1, grad.shape[-1])
                        params[k][names[k][id(layer.weight)]].grad = flat.t().mm(
                            x.reshape(-1, x.shape[-1])
                        )
                        params[k][names[k][id(layer.bias)]].grad = flat.sum(0)
                        grad = grad.matmul(now(names[k][id(layer.weight)]))
                    elif isinstance(layer, nn.BatchNorm1d):
                        params[k][names[k][id(layer.weight)]].grad = (grad * saved.detach()).sum(
                            [0]
                        )
                        params[k][names[k][id(layer.bias)]].grad = grad.sum([0])
                        grad_hat = grad * now(names[k][id(layer.weight)]).view(1, -1)
                        (grad,) = torch.autograd.grad(saved, [x], grad_hat)
                    else:
                        (grad,) = torch.autograd.grad(saved, [x], grad)
            for k in range(stages):
                delay = stages - k - 1
                if corrected:
                    ramp = min(mb / PIPEMARE_WARMUP_UPDATES, 1.0)
                    for group, lr in zip(optimizers[k].param_groups, base[k], strict=True):
                        group["lr"] = lr * (delay + 1) ** -(1.0 - ramp)
                else:
                    for group, lr in zip(optimizers[k].param_groups, base[k], strict=True):
                        group["lr"] = lr
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
