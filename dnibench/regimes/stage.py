"""One pipeline stage: its slice of the model plus the regime's modules.

Every runtime (single-process reference, one process per stage, CUDA
streams) drives stages through the same few operations, so the numerics of
a regime live here once and the runtimes only decide *when* each operation
runs and how tensors travel between stages::

    forward(i, h_in)            h_k(i) = f_k(h_{k-1}(i)); the last stage computes the loss
    backward(i, grad)           true backprop of dL/dh_k(i); returns dL/dh_{k-1}(i)
    backward_input(i, grad)     zero-bubble first half: only dL/dh_{k-1}(i), the message upstream
    backward_weight(i)          zero-bubble second half: the parameter gradients of i
    synthetic_backward(i)       backprop of dhat_k(i) = M_{k+1}(h_k(i)); returns dL/dh_{k-1}(i)
    update_synthetic_gradient(i, delta)   regress M_{k+1}(h_k(i)) onto delta_k(i)
    synthetic_input(i, x)       hhat_{k-1}(i) = I_k(x(i)), used in place of the real input
    update_synthetic_input(i, h)          regress I_k(x(i)) onto the real h_{k-1}(i)
    step()                      optimiser step on the stage's own parameters

Microbatch state is kept per microbatch id between operations, so any
interleaving a schedule chooses (GPipe, 1F1B, several microbatches awaiting
their deltas in DNI) is valid as long as each microbatch's operations come in
order.

The split backward (``forward(..., split_backward=True)``, then
``backward_input``, then ``backward_weight``) computes exactly what
``backward`` computes, bit for bit, in two calls: the forward records the
output of every module that owns parameters; the input half differentiates
the stage output with respect to the stage input *and* those outputs, keeping
the graph; the weight half then runs, per module, only the step from that
module's output gradient to its own parameters, so nothing is computed
twice. Were a module's parameters not all reached that way (a module called
twice, an output that is not a tensor), the weight half falls back to a
backward restricted to the parameters: the same gradients, at the price of
recomputing the input chain.
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
    # Split backward: (module output, its parameters) recorded by the forward;
    # after backward_input, (module output, its gradient, its parameters).
    weight_roots: list[tuple[Tensor, tuple[nn.Parameter, ...]]] | None = None
    weight_grads: list[tuple[Tensor, Tensor, tuple[nn.Parameter, ...]]] | None = None
    grad_out: Tensor | None = None
    split: bool = False
    input_done: bool = False


class Stage:
    """Stage ``index`` (0-based) of ``num_stages``, owning ``module``.

    ``sg`` is given to every stage but the last under DNI-like regimes;
    ``si`` to every stage but the first under complete unlock. ``num_classes``
    sizes the one-hot context of a cDNI SG.
    """

    #: Whether a forward may ask for the split (zero-bubble) backward; stage classes
    #: whose backward is their own (the asynchronous modes') set it False.
    splits_backward = True

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
        dtype: torch.dtype | None = None,
    ) -> None:
        self.index = index
        self.num_stages = num_stages
        self.module = module
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.sg = sg
        self.si = si
        self.num_classes = num_classes
        # The precision the stage computes in: real-valued inputs and the context are cast to it.
        self.dtype = dtype
        self._flight: dict[int, _InFlight] = {}
        self._si_inputs: dict[int, Tensor] = {}
        self._recording: list[tuple[nn.Module, Tensor]] | None = None
        self._weight_hooks: list[torch.utils.hooks.RemovableHandle] = []

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
        context = self.sg.context_of(labels, self.num_classes)
        if context.is_floating_point():
            context = context.to(self.dtype or torch.float32)
        return context

    def forward(
        self,
        mb: int,
        inp: Tensor,
        labels: Tensor,
        *,
        loss_scale: float = 1.0,
        split_backward: bool = False,
    ) -> Tensor:
        """Run f_k on microbatch ``mb``; returns h_k detached (or the loss, last stage).

        ``loss_scale`` multiplies the last stage's loss: a GPipe step over m
        microbatches uses 1/m so accumulated gradients equal the whole batch's.
        ``split_backward``: this microbatch's backward will come as
        :meth:`backward_input` then :meth:`backward_weight`, so the forward
        records what the weight half starts from.
        """
        self._admit(mb, split_backward)
        inp = self.cast(inp)
        if not self.is_first:
            inp = inp.detach().requires_grad_(True)
        state = self._flight[mb] = _InFlight(inp=inp, split=split_backward)
        if split_backward:
            self._watch_weights()
            self._recording = []
            try:
                out = self.module(inp)
            finally:
                recorded, self._recording = self._recording, None
            state.weight_roots = self._weight_roots(recorded)
        else:
            out = self.module(inp)
        if self.is_last:
            state.loss = self.loss_fn(out, labels) * loss_scale
            state.out = out
            return state.loss.detach()
        state.out = out
        state.context = self._context(labels)
        return out.detach()

    def _admit(self, mb: int, split_backward: bool) -> None:
        """What every forward checks first, in this class or a subclass that replaces it:
        a split backward only where the class has one, and no microbatch twice in flight."""
        if split_backward and not self.splits_backward:
            raise ValueError(
                f"stage {self.index}: a {type(self).__name__} does not split its backward"
            )
        if mb in self._flight:
            raise RuntimeError(f"stage {self.index}: microbatch {mb} already in flight")

    def cast(self, tensor: Tensor) -> Tensor:
        """``tensor`` in the stage's precision if real-valued (ids and labels unchanged)."""
        if self.dtype is None or not tensor.is_floating_point() or tensor.dtype == self.dtype:
            return tensor
        return tensor.to(self.dtype)

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

    # -- the split (zero-bubble) backward ---------------------------------
    def _watch_weights(self) -> None:
        """Hook every module that owns parameters, once; hooks record only while asked."""
        if self._weight_hooks:
            return
        for module in self.module.modules():
            if any(p.requires_grad for p in module.parameters(recurse=False)):
                self._weight_hooks.append(module.register_forward_hook(self._record_output))

    def _record_output(self, module: nn.Module, args: object, output: object) -> None:
        if self._recording is not None:
            self._recording.append((module, output))  # type: ignore[arg-type]

    def _weight_roots(
        self, recorded: list[tuple[nn.Module, Tensor]]
    ) -> list[tuple[Tensor, tuple[nn.Parameter, ...]]] | None:
        """(output, own parameters) per module, or ``None`` if they do not cover every
        parameter exactly once (then the weight half takes the fallback path)."""
        roots: list[tuple[Tensor, tuple[nn.Parameter, ...]]] = []
        seen: set[int] = set()
        for module, output in recorded:
            params = tuple(p for p in module.parameters(recurse=False) if p.requires_grad)
            if not isinstance(output, Tensor) or output.grad_fn is None or id(module) in seen:
                return None
            seen.add(id(module))
            roots.append((output, params))
        covered = {id(p) for _, params in roots for p in params}
        wanted = {id(p) for p in self.module.parameters() if p.requires_grad}
        return roots if covered == wanted else None

    def _root(self, mb: int, state: _InFlight, grad: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """What a backward of ``mb`` starts from: the loss, or h_k with dL/dh_k."""
        if self.is_last:
            assert state.loss is not None
            return state.loss, None
        if grad is None:
            raise ValueError(f"stage {self.index}: backward of microbatch {mb} needs a gradient")
        assert state.out is not None
        return state.out, grad

    def backward_input(self, mb: int, grad: Tensor | None = None) -> Tensor | None:
        """Zero-bubble input half of ``mb``'s backward: returns dL/dh_{k-1}, no parameter grads.

        Keeps the graph and the gradient at every weight-owning module's
        output, which is all :meth:`backward_weight` needs.
        """
        state = self._flight.get(mb)
        if state is None or not state.split or state.input_done:
            raise RuntimeError(
                f"stage {self.index}: backward_input of microbatch {mb} needs its forward "
                "with split_backward=True, and runs once"
            )
        root, root_grad = self._root(mb, state, grad)
        wants_input = not self.is_first and state.inp is not None
        roots = state.weight_roots or []
        targets: list[Tensor] = [state.inp] if wants_input and state.inp is not None else []
        targets += [t for t, _ in roots]
        state.input_done = True
        if not targets:
            state.grad_out = root_grad
            return None
        grads = torch.autograd.grad(root, targets, root_grad, retain_graph=True, allow_unused=True)
        if wants_input:
            grad_in, grads = grads[0], grads[1:]
        else:
            grad_in = None
        if state.weight_roots is None:
            state.grad_out = root_grad  # fallback: W differentiates the root again
        else:
            state.weight_grads = [
                (t, g, params) for (t, params), g in zip(roots, grads, strict=True) if g is not None
            ]
        state.weight_roots = None
        return None if grad_in is None else grad_in.detach()

    def backward_weight(self, mb: int) -> None:
        """Zero-bubble weight half of ``mb``'s backward: accumulates its parameter gradients.

        Frees the microbatch's state: after it, ``mb`` holds nothing on the stage.
        """
        state = self._flight.get(mb)
        if state is None or not state.input_done:
            raise RuntimeError(
                f"stage {self.index}: backward_weight of microbatch {mb} before its backward_input"
            )
        del self._flight[mb]
        if state.weight_grads is not None:
            # retain_graph: a module whose own parameters act before a child module
            # reaches them through the child's nodes, which the child's call has run.
            # The graph goes with the state, whatever is retained.
            for output, grad, params in state.weight_grads:
                torch.autograd.backward(output, grad, inputs=list(params), retain_graph=True)
            return
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        if trainable:
            root, root_grad = self._root(mb, state, state.grad_out)
            torch.autograd.backward(root, root_grad, inputs=trainable)

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

    def local_backward(self, mb: int) -> None:
        """Backward from the stage's own local loss (DGL's stages override it)."""
        raise RuntimeError(f"stage {self.index} has no local loss: L{mb} needs a DGL stage")

    def report(self) -> dict[str, list[float]]:
        """What the stage itself measured, for the run's log (the asynchronous stages' versions)."""
        return {}

    def discard(self) -> None:
        """Drop every microbatch's state (end of a run or after a fault)."""
        self._flight.clear()
        self._si_inputs.clear()
