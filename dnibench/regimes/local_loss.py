"""DGL's stage: trained by its own auxiliary loss, no gradient crosses a stage boundary.

Decoupled Greedy Learning (Belilovsky, Eickenberg and Oyallon, "Decoupled
Greedy Learning of CNNs", ICML 2020) gives every stage but the last a small
auxiliary head and trains the stage and its head on the head's loss against
the true labels. The stage's input is the previous stage's output, detached:
no gradient is sent upstream, so no stage waits for a backward. The last
stage trains on the model's own loss. This is synchronous DGL: every stage
updates once a step, on the step's m microbatches.

The head depends on what the stage emits (:func:`auxiliary_head`, one small
dispatch to extend with a new model family):

- features (B, d) (MLPs): a linear layer;
- feature maps (B, C, H, W) or (B, C, L) (conv nets): average pooling, then
  a linear layer;
- token sequences (B, T, d) (sequence tasks, the LM): a per-token linear layer.

The heads' cost is real work of the stage: their forward runs inside the
stage's forward span, their backward inside its ``L`` span, and their
forward FLOPs per example are reported (``aux_head_flops`` in the log).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dnibench.regimes.stage import Stage, _InFlight

#: The heads are built after the pipeline from their own seed, so every runtime (and the
#: reference) gets the same heads whatever it drew before.
HEAD_SEED_OFFSET = 2


def auxiliary_head(shape: tuple[int, ...], num_classes: int, task: str) -> nn.Module:
    """DGL's auxiliary head for a stage emitting per-example ``shape`` activations."""
    if task == "sequence" and len(shape) == 2:
        return nn.Linear(shape[-1], num_classes)  # per token: (B, T, d) -> (B, T, C)
    if len(shape) == 1:
        return nn.Linear(shape[0], num_classes)
    if len(shape) == 3:
        return nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(shape[0], num_classes)
        )
    if len(shape) == 2:
        return nn.Sequential(
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(shape[0], num_classes)
        )
    raise ValueError(f"no DGL auxiliary head for activations of shape {shape} ({task})")


def head_flops(shape: tuple[int, ...], num_classes: int, task: str) -> int:
    """Forward FLOPs per example of :func:`auxiliary_head` (multiply-adds count two)."""
    if task == "sequence" and len(shape) == 2:
        return 2 * shape[0] * shape[1] * num_classes
    pooling = 0 if len(shape) == 1 else int(torch.Size(shape).numel())
    return pooling + 2 * shape[0] * num_classes


class LocalLossStage(Stage):
    """``stage`` trained on ``head``'s loss (or, with no head, the last stage's true loss)."""

    splits_backward = False

    def __init__(self, stage: Stage, head: nn.Module | None, flops: int = 0) -> None:
        super().__init__(
            stage.index,
            stage.num_stages,
            stage.module,
            loss_fn=stage.loss_fn,
            optimizer=stage.optimizer,
            num_classes=stage.num_classes,
            dtype=stage.dtype,
        )
        if (head is None) != stage.is_last:
            raise ValueError("every stage but the last has an auxiliary head")
        self.head = head
        self.head_flops = flops
        self.live = 0
        self.forward_versions: dict[int, int] = {}
        self.backward_versions: dict[int, int] = {}
        if head is not None:
            if stage.dtype is not None:
                head.to(stage.dtype)  # the run's precision, like the stage (parameters kept)
            # One optimiser, the stage's own settings (its defaults) for the head's group.
            self.optimizer.add_param_group({"params": list(head.parameters())})

    def forward(
        self,
        mb: int,
        inp: Tensor,
        labels: Tensor,
        *,
        loss_scale: float = 1.0,
        split_backward: bool = False,
    ) -> Tensor:
        """f_k on the detached input, then the head's loss (the true loss on the last stage)."""
        self._admit(mb, split_backward)
        state = self._flight[mb] = _InFlight(inp=None)
        out = self.module(self.cast(inp).detach())
        logits = out if self.head is None else self.head(out)
        state.loss = self.loss_fn(logits, labels) * loss_scale
        self.forward_versions[mb] = self.live
        return state.loss.detach() if self.is_last else out.detach()

    def local_backward(self, mb: int) -> None:
        """Backward of ``mb``'s local loss into the stage and its head; nothing goes upstream."""
        state = self._flight.pop(mb)
        assert state.loss is not None
        state.loss.backward()
        self.backward_versions[mb] = self.live

    def step(self) -> None:
        super().step()
        self.live += 1

    def report(self) -> dict[str, list[float]]:
        """The version tables (the live version throughout a step) and the head's FLOPs."""
        forwards, backwards = self.forward_versions, self.backward_versions
        return {
            "forward_version": [float(forwards[mb]) for mb in sorted(forwards)],
            "backward_version": [float(backwards[mb]) for mb in sorted(backwards)],
            "aux_head_flops": [float(self.head_flops)],
        }


def local_loss_stages(
    stages: list[Stage],
    shapes: list[tuple[int, ...]],
    num_classes: int,
    task: str,
    seed: int,
) -> list[Stage]:
    """Every stage with its head (none on the last), heads drawn from ``seed + 2``."""
    torch.manual_seed(seed + HEAD_SEED_OFFSET)
    converted: list[Stage] = []
    for stage, shape in zip(stages, shapes, strict=True):
        if stage.is_last:
            converted.append(LocalLossStage(stage, None))
            continue
        head = auxiliary_head(shape, num_classes, task)
        converted.append(LocalLossStage(stage, head, head_flops(shape, num_classes, task)))
    return converted


__all__ = [
    "HEAD_SEED_OFFSET", "LocalLossStage", "auxiliary_head", "head_flops", "local_loss_stages",
]  # fmt: skip
