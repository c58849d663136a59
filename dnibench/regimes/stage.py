"""One pipeline stage: its slice of the model plus the regime's modules.

Every runtime (single-process reference, one process per stage, CUDA
streams) drives stages through the same few operations, so the numerics of
a regime live here once and the runtimes only decide *when* each operation
runs and how tensors travel between stages::

    forward(i, h_in)            h_k(i) = f_k(h_{k-1}(i)); the last stage computes the loss
    backward(i, grad)           true backprop of dL/dh_k(i); returns dL/dh_{k-1}(i)
    synthetic_backward(i)       backprop of dhat_k(i) = M_{k+1}(h_k(i)); returns dL/dh_{k-1}(i)
    update_synthetic_gradient(i, delta)   regress M_{k+1}(h_k(i)) onto delta_k(i)
    synthetic_input(i, x)       hhat_{k-1}(i) = I_k(x(i)), used in place of the real input
    update_synthetic_input(i, h)          regress I_k(x(i)) onto the real h_{k-1}(i)
    step()                      optimiser step on the stage's own parameters

Microbatch state is kept per microbatch id between operations, so any
interleaving a schedule chooses (GPipe, 1F1B, several microbatches awaiting
their deltas in DNI) is valid as long as each microbatch's operations come in
order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from dnibench.regimes.synthetic_gradient import SyntheticGradient
from dnibench.regimes.synthetic_input import SyntheticInput

LossFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class SGStats:
    """How one synthetic gradient compared with the delta that came back.

    Detached 0-d tensors, left on the stage's device: converting them per
    microbatch would make every SG update wait for the GPU stream to drain.
    Runtimes call :meth:`floats` (or ``float()``) once the run is over.
    """

    loss: Tensor
    cosine: Tensor
    relative_error: Tensor

    def floats(self) -> tuple[float, float, float]:
        """(loss, cosine, relative error) as Python floats (synchronises)."""
        return float(self.loss), float(self.cosine), float(self.relative_error)


@dataclass
class _InFlight:
    """What a microbatch leaves on a stage between its operations."""

    inp: Tensor | None
    out: Tensor | None = None
    loss: Tensor | None = None
    context: Tensor | None = None
    synthetic: Tensor | None = None


class Stage:
    """Stage ``index`` (0-based) of ``num_stages``, owning ``module``.

    ``sg`` is given to every stage but the last under DNI-like regimes;
    ``si`` to every stage but the first under complete unlock. ``num_classes``
    sizes the one-hot context of a cDNI SG.
    """

    def __init__(
        self,
        index: int,
        num_stages: int,
        module: nn.Module,
        *,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        sg: SyntheticGradient | None = None,
        si: SyntheticInput | None = None,
        num_classes: int = 0,
    ) -> None:
        self.index = index
        self.num_stages = num_stages
        self.module = module
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.sg = sg
        self.si = si
        self.num_classes = num_classes
        self._flight: dict[int, _InFlight] = {}
        self._si_inputs: dict[int, Tensor] = {}

    @property
    def is_first(self) -> bool:
        return self.index == 0

    @property
    def is_last(self) -> bool:
        return self.index == self.num_stages - 1

    @property
    def in_flight(self) -> int:
        """Microbatches holding state on this stage (activation memory, in microbatches)."""
        return len(self._flight.keys() | self._si_inputs.keys())

    def _context(self, labels: Tensor) -> Tensor | None:
        if self.sg is None or self.sg.context_size == 0:
            return None
        return F.one_hot(labels, self.num_classes).float()

    def forward(self, mb: int, inp: Tensor, labels: Tensor, *, loss_scale: float = 1.0) -> Tensor:
        """Run f_k on microbatch ``mb``; returns h_k detached (or the loss, last stage).

        ``loss_scale`` multiplies the last stage's loss: a GPipe step over m
        microbatches uses 1/m so accumulated gradients equal the whole batch's.
        """
        if mb in self._flight:
            raise RuntimeError(f"stage {self.index}: microbatch {mb} already in flight")
        if not self.is_first:
            inp = inp.detach().requires_grad_(True)
        state = self._flight[mb] = _InFlight(inp=inp)
        out = self.module(inp)
        if self.is_last:
            state.loss = self.loss_fn(out, labels) * loss_scale
            state.out = out
            return state.loss.detach()
        state.out = out
        state.context = self._context(labels)
        return out.detach()

    def _grad_in(self, state: _InFlight) -> Tensor | None:
        if self.is_first or state.inp is None or state.inp.grad is None:
            return None
        return state.inp.grad.detach()

    def backward(self, mb: int, grad: Tensor | None = None) -> Tensor | None:
        """True backward of ``mb``: from the loss (last stage) or from ``grad``.

        Accumulates parameter gradients; returns dL/dh_{k-1} for the stage above.
        """
        state = self._flight.pop(mb)
        if self.is_last:
            assert state.loss is not None
            state.loss.backward()
        else:
            if grad is None:
                raise ValueError(
                    f"stage {self.index}: backward of microbatch {mb} needs a gradient"
                )
            assert state.out is not None
            state.out.backward(grad)
        return self._grad_in(state)

    def synthetic_backward(self, mb: int) -> Tensor | None:
        """Backward of ``mb`` from the stage's own synthetic gradient (DNI).

        The last stage has the true loss and uses it. Other stages keep
        ``h_k`` (detached) so the SG can regress once the true delta arrives.
        """
        if self.is_last:
            return self.backward(mb)
        if self.sg is None:
            raise RuntimeError(f"stage {self.index} has no synthetic gradient module")
        state = self._flight[mb]
        assert state.out is not None
        h = state.out.detach()
        synthetic = self.sg.predict(h, state.context)
        state.out.backward(synthetic)
        grad_in = self._grad_in(state)
        state.out = h
        state.synthetic = synthetic
        state.inp = None
        return grad_in

    def update_synthetic_gradient(self, mb: int, delta: Tensor) -> SGStats:
        """Regress M_{k+1}(h_k(mb)) onto ``delta``, the dL/dh_k that came back."""
        if self.sg is None:
            raise RuntimeError(f"stage {self.index} has no synthetic gradient module")
        state = self._flight[mb]
        if state.synthetic is None or state.out is None:
            raise RuntimeError(f"stage {self.index}: delta for microbatch {mb} before its backward")
        del self._flight[mb]
        loss = self.sg.regress(state.out, state.context, delta)
        predicted = state.synthetic.flatten()
        true = delta.flatten()
        cosine = F.cosine_similarity(predicted, true, dim=0, eps=1e-12).detach()
        relative = ((predicted - true).norm() / true.norm().clamp_min(1e-12)).detach()
        return SGStats(loss=loss, cosine=cosine, relative_error=relative)

    def synthetic_input(self, mb: int, x: Tensor) -> Tensor:
        """hhat_{k-1}(mb) = I_k(x), to run the forward on before h_{k-1} arrives."""
        if self.si is None:
            raise RuntimeError(f"stage {self.index} has no synthetic input module")
        self._si_inputs[mb] = x
        return self.si.predict(x)

    def update_synthetic_input(self, mb: int, h_real: Tensor) -> Tensor:
        """Regress I_k(x(mb)) onto the real h_{k-1}(mb); returns the L2 loss (a 0-d tensor)."""
        if self.si is None:
            raise RuntimeError(f"stage {self.index} has no synthetic input module")
        x = self._si_inputs.pop(mb, None)
        if x is None:
            raise RuntimeError(f"stage {self.index}: real input for microbatch {mb} before its SI")
        return self.si.regress(x, h_real)

    def step(self) -> None:
        """Apply and clear the accumulated parameter gradients."""
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def discard(self) -> None:
        """Drop every microbatch's state (end of a run or after a fault)."""
        self._flight.clear()
        self._si_inputs.clear()
