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
from torch import Tensor
from torch.func import functional_call

from dnibench.data import BatchStream, load_dataset
from dnibench.pipeline import build_pipeline
from dnibench.runtimes.spec import BenchSpec

Weights = dict[str, Tensor]


def _version(mode: str, stage: int, stages: int, mb: int, per_step: int) -> int:
    """The weight version microbatch ``mb`` uses on ``stage`` (the papers' delay rules)."""
    if mode in ("pipedream",):
        return max(0, mb - (stages - stage - 1))
    if mode == "pipedream-2bw":
        return max(0, mb // per_step - 1)
    raise ValueError(f"no textbook rule for {mode}")


def _updates_every_microbatch(mode: str) -> bool:
    return mode in ("pipedream",)


def reference_run(spec: BenchSpec) -> tuple[list[Weights], list[dict[int, int]]]:
    """Each stage's final parameters and buffers, and its microbatch -> version table."""
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
    per_microbatch = _updates_every_microbatch(spec.mode)
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
    return [module.state_dict() for module in modules], used


__all__ = ["reference_run"]
