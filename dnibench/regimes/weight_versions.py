"""A stage that keeps old weight versions: PipeDream's stash and PipeDream-2BW's two buffers.

Under an asynchronous schedule a stage updates its weights between a
microbatch's forward and its backward. Autograd would then either raise (a
saved weight was modified in place) or, worse, differentiate with weights
the forward never used. This stage runs every forward through
:func:`torch.func.functional_call` on *leaf aliases* of one weight version,
so the graph holds that version's storage and nothing else; the backward
then differentiates exactly the weights the forward used, and the leaves'
gradients are added to the live parameters' ``.grad`` for the optimiser.

The version store is copy-on-write: before an optimiser step, if any
microbatch in flight (or, under 2BW, any forward still to come) needs the
live version, the live parameters are moved to new storage and the old
storage is kept as the stashed version; otherwise nothing is copied. What
the store holds is therefore exactly the stash, and its bytes
(:attr:`VersionedStage.peak_stash_bytes`) are the memory figure the
asynchronous modes are compared on: PipeDream's stage k (0-based) peaks at
K - k - 1 stashed versions, 2BW at one.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.func import functional_call

from dnibench.regimes.asynchronous import AsyncRule, Versions
from dnibench.regimes.stage import Stage, _InFlight


class VersionedStage(Stage):
    """``stage`` (its module, loss and optimiser) under ``rule``, ``microbatches`` per step."""

    splits_backward = False

    def __init__(self, stage: Stage, rule: AsyncRule, microbatches: int) -> None:
        if not rule.stashes:
            raise ValueError(f"{rule.versions} keeps no weight versions")
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
        self.per_step = microbatches
        #: Updates applied so far: the live parameters are this version.
        self.live = 0
        self._params = {n: p for n, p in stage.module.named_parameters() if p.requires_grad}
        self._stash: dict[int, dict[str, Tensor]] = {}
        self._users: dict[int, int] = {}
        self._uses: dict[int, tuple[int, dict[str, Tensor]]] = {}
        self._next_forward = 0
        self.forward_versions: dict[int, int] = {}
        self.backward_versions: dict[int, int] = {}
        self.peak_stash_bytes = 0
        self.peak_versions = 1

    # -- which version --------------------------------------------------------
    def planned_version(self, mb: int) -> int:
        """The version microbatch ``mb``'s forward (and backward) runs on."""
        if self.rule.versions is Versions.PREVIOUS_STEP:
            return max(0, mb // self.per_step - 1)
        return self.live

    def _needed(self, version: int) -> bool:
        """Whether a microbatch in flight, or a forward still to come, uses ``version``."""
        if self._users.get(version, 0) > 0:
            return True
        future = self.rule.versions is Versions.PREVIOUS_STEP
        return future and self.planned_version(self._next_forward) <= version

    def _release(self) -> None:
        for version in [v for v in self._stash if not self._needed(v)]:
            del self._stash[version]

    @property
    def parameter_bytes(self) -> int:
        """Bytes of the live parameters (read when asked: the dtype may change after build)."""
        return sum(p.numel() * p.element_size() for p in self._params.values())

    @property
    def stash_bytes(self) -> int:
        """Bytes of weight versions held besides the live parameters."""
        return sum(t.numel() * t.element_size() for ts in self._stash.values() for t in ts.values())

    # -- the operations -------------------------------------------------------
    def forward(
        self,
        mb: int,
        inp: Tensor,
        labels: Tensor,
        *,
        loss_scale: float = 1.0,
        split_backward: bool = False,
    ) -> Tensor:
        """f_k on ``mb`` with the planned version's weights (leaf aliases the graph keeps)."""
        self._admit(mb, split_backward)
        version = self.planned_version(mb)
        if version == self.live:
            # .data: an alias with its own version counter, so the optimiser's in-place step
            # on the (moved) live parameters never touches what this graph saved.
            source = {n: p.data for n, p in self._params.items()}
        elif version in self._stash:
            source = self._stash[version]
        else:
            raise RuntimeError(
                f"stage {self.index}: microbatch {mb} needs weight version {version}, "
                f"which the store no longer holds (live version {self.live})"
            )
        leaves = {n: t.detach().requires_grad_(True) for n, t in source.items()}
        inp = self.cast(inp)
        if not self.is_first:
            inp = inp.detach().requires_grad_(True)
        state = self._flight[mb] = _InFlight(inp=inp)
        out = functional_call(self.module, leaves, (inp,))
        self._uses[mb] = (version, leaves)
        self._users[version] = self._users.get(version, 0) + 1
        self.forward_versions[mb] = version
        self._next_forward = max(self._next_forward, mb + 1)
        self._release()
        state.out = out
        if self.is_last:
            state.loss = self.loss_fn(out, labels) * loss_scale
            return state.loss.detach()
        return out.detach()

    def backward(self, mb: int, grad: Tensor | None = None) -> Tensor | None:
        """The backward on the forward's own version; its gradient joins the live ``.grad``."""
        version, leaves = self._uses.pop(mb)
        grad_in = super().backward(mb, grad)
        for name, leaf in leaves.items():
            if leaf.grad is None:
                continue
            param = self._params[name]
            if param.grad is None:
                param.grad = leaf.grad
            else:
                param.grad.add_(leaf.grad)
        self._users[version] -= 1
        if not self._users[version]:
            del self._users[version]
        self.backward_versions[mb] = version
        self._release()
        return grad_in

    def step(self) -> None:
        """The optimiser step; the live version is stashed first if anything still needs it."""
        if self._needed(self.live):
            self._stash[self.live] = {n: p.data for n, p in self._params.items()}
            with torch.no_grad():
                for param in self._params.values():
                    param.data = param.data.clone()
        super().step()
        self.live += 1
        self._release()
        self.peak_stash_bytes = max(self.peak_stash_bytes, self.stash_bytes)
        self.peak_versions = max(self.peak_versions, len(self._stash) + 1)

    def report(self) -> dict[str, list[float]]:
        """Per microbatch (in id order) the forward and backward versions; the store's peaks."""
        return {
            "forward_version": [
                float(self.forward_versions[mb]) for mb in sorted(self.forward_versions)
            ],
            "backward_version": [
                float(self.backward_versions[mb]) for mb in sorted(self.backward_versions)
            ],
            "stash_bytes_peak": [float(self.peak_stash_bytes)],
            "versions_held_peak": [float(self.peak_versions)],
            "parameter_bytes": [float(self.parameter_bytes)],
        }

    def discard(self) -> None:
        super().discard()
        self._uses.clear()
        self._users.clear()
        self._stash.clear()


__all__ = ["VersionedStage"]
