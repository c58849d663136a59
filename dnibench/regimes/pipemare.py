"""PipeMare's stage: no weight stash, the backward on whatever weights are live.

PipeMare (Yang et al., "PipeMare: Asynchronous Pipeline Parallel DNN
Training", MLSys 2021) keeps no old weights. Between a microbatch's forward
and its backward the stage updates in place, so plain autograd cannot be
used: it saves the weight tensors and would raise on the in-place update.
Each layer with parameters therefore runs through a custom autograd function
that saves only its *input activation*:

- the input gradient (what goes upstream) is computed with the weights live
  at backward time, optionally corrected (below);
- the weight gradient comes from the stored activation and the output
  gradient alone (for a linear map, g^T x; for BatchNorm's affine part,
  sum(g * x_hat) and sum(g)): no weights, no recompute.

Per layer (docs/async.md): Linear, Conv1d and Conv2d (the convolution's
input and weight gradients as separate transposed convolutions, with the
layer's stride, padding, dilation and groups), BatchNorm and LayerNorm (the
affine part on the saved normalised input; the normalisation itself has no
weights and keeps plain autograd), and Embedding (a weight gradient only:
its integer input has no gradient).

PipeMare's two remedies, on in ``pipemare`` and off in ``pipemare-plain``:

- learning-rate rescheduling: stage k of weight delay tau = K - k - 1 steps
  with lr * (tau + 1) ** -(1 - min(t / T, 1)) at its update t;
- discrepancy correction: the backward weights are the live ones minus
  d * delta, d the updates since the microbatch's forward and delta a moving
  average (decay gamma = D ** (1 / (tau + 1))) of the stage's weight steps, to
  approximate the weights the forward used.

A stage holding any other layer with parameters (or one of these in a form
the functions do not cover: a non-zero padding mode, a max-norm or sparse
embedding) is refused when it is built.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn import grad as conv_grad

from dnibench.regimes.asynchronous import (
    PIPEMARE_DECAY,
    PIPEMARE_WARMUP_UPDATES,
    AsyncRule,
    stage_delay,
)
from dnibench.regimes.stage import Stage

WeightNow = Callable[[], Tensor]
"""Returns the weights to use for an input gradient, when the backward runs."""


class _StaleLinear(torch.autograd.Function):
    """y = x W^T + b, saving x only: the backward's weights come from ``weight_now()``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, now: WeightNow) -> Tensor:
        ctx.save_for_backward(x)
        ctx.now = now
        ctx.has_bias = bias is not None
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        grad_x = grad.matmul(ctx.now()) if ctx.needs_input_grad[0] else None
        flat_grad = grad.reshape(-1, grad.shape[-1])
        grad_w = flat_grad.t().mm(x.reshape(-1, x.shape[-1]))
        grad_b = flat_grad.sum(0) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None


def _channel_view(t: Tensor, like: Tensor) -> Tensor:
    return t.view(1, -1, *([1] * (like.dim() - 2)))


class _StaleAffine(torch.autograd.Function):
    """BatchNorm's affine part y = x_hat * w + b per channel, saving x_hat only."""

    @staticmethod
    def forward(ctx: Any, x_hat: Tensor, weight: Tensor, bias: Tensor, now: WeightNow) -> Tensor:
        ctx.save_for_backward(x_hat)
        ctx.now = now
        return x_hat * _channel_view(weight, x_hat) + _channel_view(bias, x_hat)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x_hat,) = ctx.saved_tensors
        dims = [0, *range(2, grad.dim())]
        grad_x = grad * _channel_view(ctx.now(), grad) if ctx.needs_input_grad[0] else None
        return grad_x, (grad * x_hat).sum(dims), grad.sum(dims), None


class _StaleConv(torch.autograd.Function):
    """y = conv(x, W) + b (1-d or 2-d), saving x only; ``options`` = (stride, padding,
    dilation, groups) as the layer holds them."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        now: WeightNow,
        options: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int],
    ) -> Tensor:
        ctx.save_for_backward(x)
        ctx.now, ctx.options = now, options
        ctx.has_bias = bias is not None
        ctx.weight_shape = weight.shape
        conv = F.conv1d if x.dim() == 3 else F.conv2d
        return conv(x, weight, bias, *options)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.options
        if x.dim() == 3:
            grad_input, grad_weight = conv_grad.conv1d_input, conv_grad.conv1d_weight
        else:
            grad_input, grad_weight = conv_grad.conv2d_input, conv_grad.conv2d_weight
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_input(x.shape, ctx.now(), grad, stride, padding, dilation, groups)
        grad_w = grad_weight(x, ctx.weight_shape, grad, stride, padding, dilation, groups)
        grad_b = grad.sum([0, *range(2, grad.dim())]) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None, None


class _StaleLayerNormAffine(torch.autograd.Function):
    """LayerNorm's affine part over the trailing dims: the value is the layer's own
    ``layer_norm(x, w, b)``; the backward reads the saved x_hat (the normalised input,
    whose graph leads back to x) and the live weights."""

    @staticmethod
    def forward(
        ctx: Any,
        x_hat: Tensor,
        x: Tensor,
        weight: Tensor | None,
        bias: Tensor | None,
        now: WeightNow,
        shape_eps: tuple[tuple[int, ...], float],
    ) -> Tensor:
        ctx.save_for_backward(x_hat)
        ctx.now = now
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        ctx.lead = list(range(x.dim() - len(shape_eps[0])))
        return F.layer_norm(x, shape_eps[0], weight, bias, shape_eps[1])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (x_hat,) = ctx.saved_tensors
        lead = ctx.lead
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * ctx.now() if ctx.has_weight else grad
        grad_w = (grad * x_hat).sum(lead) if ctx.has_weight else None
        grad_b = grad.sum(lead) if ctx.has_bias else None
        return grad_x, None, grad_w, grad_b, None, None


class _StaleEmbedding(torch.autograd.Function):
    """Rows of W at integer ids, saving the ids: only a weight gradient (the scatter-add
    of the output gradient into the ids' rows), never the weights."""

    @staticmethod
    def forward(ctx: Any, ids: Tensor, weight: Tensor, padding_idx: int) -> Tensor:
        ctx.save_for_backward(ids)
        ctx.rows, ctx.padding_idx = weight.shape[0], padding_idx
        return F.embedding(ids, weight, padding_idx if padding_idx >= 0 else None)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        (ids,) = ctx.saved_tensors
        grad_w = torch.ops.aten.embedding_dense_backward(
            grad, ids, ctx.rows, ctx.padding_idx, False
        )
        return None, grad_w, None


SUPPORTED = "Linear, Conv1d, Conv2d, BatchNorm, LayerNorm and Embedding"
"""The layers with parameters a PipeMare stage runs (what its refusal names)."""


def _plain_conv(module: nn.Conv1d | nn.Conv2d) -> bool:
    """Zero padding given as numbers: what the transposed convolutions of the backward take."""
    return module.padding_mode == "zeros" and not isinstance(module.padding, str)


class PipeMareStage(Stage):
    """``stage`` under PipeMare's rule (``rule.pipemare``: with its two remedies)."""

    splits_backward = False

    def __init__(self, stage: Stage, rule: AsyncRule, microbatches: int) -> None:
        super().__init__(
            stage.index,
            stage.num_stages,
            stage.module,
            loss_fn=stage.loss_fn,
            optimizer=stage.optimizer,
            num_classes=stage.num_classes,
            dtype=stage.dtype,
        )
        self.rule = rule
        self.delay = stage_delay(stage.index, stage.num_stages)
        self.live = 0
        self.forward_versions: dict[int, int] = {}
        self.backward_versions: dict[int, int] = {}
        self._base_lr = [group["lr"] for group in self.optimizer.param_groups]
        self._velocity: dict[Tensor, Tensor] = {}
        self._mb = -1
        for module in stage.module.modules():
            self._install(module)

    def _install(self, module: nn.Module) -> None:
        """Route ``module``'s forward through the stale-weight functions (or refuse it)."""
        if not any(True for _ in module.parameters(recurse=False)):
            return
        if isinstance(module, nn.Linear):
            module.forward = types.MethodType(self._linear_forward(), module)  # type: ignore[method-assign]
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            module.forward = types.MethodType(self._batch_norm_forward(), module)  # type: ignore[method-assign]
        elif isinstance(module, nn.Conv1d | nn.Conv2d) and _plain_conv(module):
            module.forward = types.MethodType(self._conv_forward(), module)  # type: ignore[method-assign]
        elif isinstance(module, nn.LayerNorm):
            module.forward = types.MethodType(self._layer_norm_forward(), module)  # type: ignore[method-assign]
        elif isinstance(module, nn.Embedding) and module.max_norm is None and not module.sparse:
            module.forward = types.MethodType(self._embedding_forward(), module)  # type: ignore[method-assign]
        else:
            raise ValueError(
                f"pipemare runs {SUPPORTED} layers only; stage {self.index} holds a "
                f"{type(module).__name__} with parameters (or in a form not covered)"
            )

    def _now(self, param: Tensor) -> WeightNow:
        """The weights an input gradient of the current microbatch will use at its backward."""
        mb = self._mb

        def now() -> Tensor:
            weights = param.detach()
            behind = self.live - self.forward_versions[mb]
            velocity = self._velocity.get(param)
            if self.rule.pipemare and behind and velocity is not None:
                weights = weights - behind * velocity
            return weights

        return now

    def _linear_forward(self) -> Callable[[nn.Linear, Tensor], Tensor]:
        def forward(module: nn.Linear, x: Tensor) -> Tensor:
            return _StaleLinear.apply(x, module.weight, module.bias, self._now(module.weight))

        return forward

    def _conv_forward(self) -> Callable[[nn.Conv1d | nn.Conv2d, Tensor], Tensor]:
        def forward(module: nn.Conv1d | nn.Conv2d, x: Tensor) -> Tensor:
            padding = module.padding
            assert not isinstance(padding, str)  # _plain_conv refuses "same" and "valid"
            options = (module.stride, padding, module.dilation, module.groups)
            now = self._now(module.weight)
            return _StaleConv.apply(x, module.weight, module.bias, now, options)

        return forward

    def _layer_norm_forward(self) -> Callable[[nn.LayerNorm, Tensor], Tensor]:
        def forward(module: nn.LayerNorm, x: Tensor) -> Tensor:
            shape = tuple(module.normalized_shape)
            x_hat = F.layer_norm(x, shape, None, None, module.eps)
            now = self._now(module.weight)
            return _StaleLayerNormAffine.apply(
                x_hat, x.detach(), module.weight, module.bias, now, (shape, module.eps)
            )

        return forward

    def _embedding_forward(self) -> Callable[[nn.Embedding, Tensor], Tensor]:
        def forward(module: nn.Embedding, ids: Tensor) -> Tensor:
            padding = -1 if module.padding_idx is None else module.padding_idx
            return _StaleEmbedding.apply(ids, module.weight, padding)

        return forward

    def _batch_norm_forward(self) -> Callable[[nn.modules.batchnorm._BatchNorm, Tensor], Tensor]:
        def forward(module: nn.modules.batchnorm._BatchNorm, x: Tensor) -> Tensor:
            momentum = 0.0 if module.momentum is None else module.momentum
            if module.training and module.num_batches_tracked is not None:
                module.num_batches_tracked.add_(1)
                if module.momentum is None:
                    momentum = 1.0 / float(module.num_batches_tracked)
            stats = not module.training or module.track_running_stats
            x_hat = F.batch_norm(
                x,
                module.running_mean if stats else None,
                module.running_var if stats else None,
                None,
                None,
                module.training or module.running_mean is None,
                momentum,
                module.eps,
            )
            return _StaleAffine.apply(x_hat, module.weight, module.bias, self._now(module.weight))

        return forward

    def forward(
        self,
        mb: int,
        inp: Tensor,
        labels: Tensor,
        *,
        loss_scale: float = 1.0,
        split_backward: bool = False,
    ) -> Tensor:
        """f_k on the live weights; the layers keep their inputs, not the weights."""
        self._admit(mb, split_backward)  # before anything is recorded
        self.forward_versions[mb] = self.live
        self._mb = mb
        return super().forward(mb, inp, labels, loss_scale=loss_scale)

    def backward(self, mb: int, grad: Tensor | None = None) -> Tensor | None:
        """Input gradients on the live (corrected) weights, weight gradients from activations."""
        grad_in = super().backward(mb, grad)
        self.backward_versions[mb] = self.live
        return grad_in

    def step(self) -> None:
        """Rescheduled learning rate, the step, and the correction's velocity (``pipemare``)."""
        if not self.rule.pipemare:
            super().step()
            self.live += 1
            return
        ramp = min(self.live / PIPEMARE_WARMUP_UPDATES, 1.0)
        factor = (self.delay + 1) ** -(1.0 - ramp)
        for group, base in zip(self.optimizer.param_groups, self._base_lr, strict=True):
            group["lr"] = base * factor
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        before = [p.detach().clone() for p in params]
        super().step()
        decay = PIPEMARE_DECAY ** (1.0 / (self.delay + 1))
        with torch.no_grad():
            for param, old in zip(params, before, strict=True):
                moved = param.detach() - old
                velocity = self._velocity.get(param)
                self._velocity[param] = (
                    (1 - decay) * moved
                    if velocity is None
                    else decay * velocity + (1 - decay) * moved
                )
        self.live += 1

    @property
    def parameter_bytes(self) -> int:
        """Bytes of the live parameters (read when asked: the dtype may change after build)."""
        return sum(p.numel() * p.element_size() for p in self.module.parameters())

    @property
    def velocity_bytes(self) -> int:
        """Bytes the discrepancy correction keeps (its velocity); 0 without the correction."""
        return sum(v.numel() * v.element_size() for v in self._velocity.values())

    def report(self) -> dict[str, list[float]]:
        """Per microbatch (in id order) the live version at its forward and at its backward."""
        forwards, backwards = self.forward_versions, self.backward_versions
        return {
            "forward_version": [float(forwards[mb]) for mb in sorted(forwards)],
            "backward_version": [float(backwards[mb]) for mb in sorted(backwards)],
            # No weight version is kept; the correction's velocity is one parameter-sized copy.
            "stash_bytes_peak": [float(self.velocity_bytes)],
            "versions_held_peak": [1.0],
            "parameter_bytes": [float(self.parameter_bytes)],
        }


__all__ = ["PipeMareStage"]
