"""TBPTT(k1, k2): an update every ``truncation`` steps, backpropagated through ``window`` steps.

Plain tbptt(T) ties two things together: how often the core updates (every
T characters) and how far back its gradient reaches (T steps). TBPTT(8, 40)
(Williams and Peng's TBPTT(h, h')) separates them: every 8 characters it
backpropagates *those 8 positions'* loss through the last 40 steps, so it
updates as often as tbptt-8 but sees as far back as tbptt-40, and each
position's loss enters exactly one update. It is therefore the ceiling for
what a synthetic gradient at T = 8 can recover: a perfect SG would give the
8-step chunk the gradient of the 32 steps before it.

How: the regime keeps the previous chunks' inputs (up to ``window - T``
steps of them) and the detached state where that history starts. Each
update re-runs the core from there over the history and the new chunk (with
the current weights; a state computed with older weights cannot carry a
graph through in-place parameter updates), scores only the new chunk, and
backpropagates. The history then slides: the oldest chunks leave, and the
state at the new history start, from this very forward, is kept detached.
Chunks are run one at a time, so the state at every boundary is at hand;
the history holds whole chunks, so a window that is not a multiple of the
truncation reaches back the largest whole number of chunks that fits in it.
With ``window == truncation`` it is tbptt exactly.
"""

from __future__ import annotations

import torch
from torch import nn

from dnibench.studies.recurrent.chunks import Chunk, ChunkStep
from dnibench.studies.recurrent.core import State, detach_state
from dnibench.studies.recurrent.tbptt import TBPTT, LossFn


class TBPTTWindow(TBPTT):
    """Trains ``core`` every chunk, backpropagating the chunk's loss through ``window`` steps."""

    name = "tbptt-window"

    def __init__(
        self,
        core: nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        *,
        window: int,
        clip: float = 0.0,
    ) -> None:
        super().__init__(core, loss_fn, optimizer, clip=clip)
        if window < 1:
            raise ValueError(f"window must be positive, got {window}")
        self.window = window
        self._history: list[Chunk] = []
        self._start: State | None = None

    def train_chunk(self, chunk: Chunk, state: State | None) -> ChunkStep:
        """One update: ``chunk``'s loss, backpropagated through up to ``window`` steps.

        ``state`` None starts afresh (a new sequence): the history is dropped.
        Otherwise the regime starts from its own history; with none yet it
        starts from ``state``.
        """
        if state is None:
            self._history, self._start = [], None
        elif not self._history:
            self._start = detach_state(state)
        current = self._start
        boundaries: list[State] = []
        for piece in self._history:
            _, current = self.core(piece.inputs, current)
            boundaries.append(current)
        outputs, last = self.core(chunk.inputs, current)
        loss = self.loss_fn(outputs, chunk)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.update()
        self._slide(chunk, boundaries, last)
        return ChunkStep(
            float(loss.detach()), outputs.detach(), None if chunk.ends else detach_state(last)
        )

    def _slide(self, chunk: Chunk, boundaries: list[State], last: State) -> None:
        """Keep the newest chunks whose steps, with a next chunk like this one, fit the window."""
        if chunk.ends:
            self._history, self._start = [], None
            return
        pieces = [*self._history, chunk]
        states = [*boundaries, last]  # states[i]: after pieces[i]
        room = self.window - chunk.inputs.shape[1]
        drop = 0
        while drop < len(pieces) and sum(p.inputs.shape[1] for p in pieces[drop:]) > room:
            drop += 1
        if drop:
            self._start = detach_state(states[drop - 1])
        self._history = pieces[drop:]

    @property
    def positions_back(self) -> int:
        """Steps of history the next update backpropagates through before its own chunk."""
        return sum(piece.inputs.shape[1] for piece in self._history)


__all__ = ["TBPTTWindow"]
