"""The recurrent core the regimes train: token embedding, one LSTM layer, linear readout.

The regimes (:mod:`tbptt`, :mod:`dni_tbptt`) need more of a core than a plain
forward: they pass the state in and get it back, so they can detach it at a
chunk boundary or make it a leaf that collects the bootstrapped gradient, and
they turn the state into one vector per example for the synthetic-gradient
module. :class:`Core` is that contract; :class:`LSTMCore` meets it for
characters and copy-task symbols, and tests meet it with a tiny linear RNN.

The LSTM's state is the pair ``(h, c)``, each ``(1, B, H)`` as ``nn.LSTM``
takes it. Its vector is ``[h, c]`` concatenated, ``(B, 2H)``: the future loss
depends on both, so the synthetic gradient is predicted for both and enters
the backward pass at both.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor, nn

State = tuple[Tensor, ...]


class Core(Protocol):
    """What a regime needs of a recurrent core (see the module docstring)."""

    state_size: int

    def __call__(self, inputs: Tensor, state: State | None) -> tuple[Tensor, State]:
        """Outputs of every step of a chunk and the state after its last step."""
        ...

    def join(self, state: State) -> Tensor:
        """The state as one ``(B, state_size)`` vector per example."""
        ...

    def split(self, vector: Tensor) -> State:
        """The inverse of :meth:`join`."""
        ...


class LSTMCore(nn.Module):
    """Embedding, one LSTM layer of ``width`` units, readout to ``vocab_out`` logits.

    With ``aux`` set it also carries the auxiliary head of ``dni-tbptt+aux``:
    a linear map from the state vector to a prediction of a synthetic
    gradient further ahead (zero-initialised, so it starts silent).
    """

    def __init__(self, vocab_in: int, vocab_out: int, width: int, *, aux: bool = False) -> None:
        super().__init__()
        self.width = width
        self.state_size = 2 * width
        self.embed = nn.Embedding(vocab_in, width)
        self.lstm = nn.LSTM(width, width, batch_first=True)
        self.readout = nn.Linear(width, vocab_out)
        self.aux_head: nn.Linear | None = None
        if aux:
            self.aux_head = nn.Linear(self.state_size, self.state_size)
            nn.init.zeros_(self.aux_head.weight)
            nn.init.zeros_(self.aux_head.bias)

    def forward(self, inputs: Tensor, state: State | None) -> tuple[Tensor, State]:
        """Logits ``(B, T, vocab_out)`` for token ids ``(B, T)``, and the final ``(h, c)``."""
        hidden, (h, c) = self.lstm(self.embed(inputs), _pair(state))
        return self.readout(hidden), (h, c)

    def forward_split(self, inputs: Tensor, state: State | None) -> tuple[Tensor, State, State]:
        """Like :meth:`forward`, also returning the state before the last step.

        Runs the chunk as two LSTM calls (all steps but the last, then the
        last), which gives the same result as one call.
        """
        if inputs.shape[1] == 1:
            before = state if state is not None else self.zero_state(inputs.shape[0])
            logits, last = self.forward(inputs, before)
            return logits, last, before
        head, before = self.forward(inputs[:, :-1], state)
        tail, last = self.forward(inputs[:, -1:], before)
        return torch.cat([head, tail], dim=1), last, before

    def zero_state(self, batch: int) -> State:
        """The all-zero state ``nn.LSTM`` starts from."""
        zeros = torch.zeros(1, batch, self.width, device=self.readout.weight.device)
        return zeros, zeros.clone()

    def join(self, state: State) -> Tensor:
        """``[h, c]`` as ``(B, 2H)``."""
        return torch.cat([state[0][0], state[1][0]], dim=-1)

    def split(self, vector: Tensor) -> State:
        """``(B, 2H)`` back to ``(h, c)``, each ``(1, B, H)``."""
        return vector[None, :, : self.width], vector[None, :, self.width :]


def _pair(state: State | None) -> tuple[Tensor, Tensor] | None:
    if state is None:
        return None
    h, c = state
    return h, c


def detach_state(state: State | None) -> State | None:
    """``state`` cut from its graph: what crosses a truncation boundary."""
    return None if state is None else tuple(s.detach() for s in state)


__all__ = ["Core", "LSTMCore", "State", "detach_state"]
