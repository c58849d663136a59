"""The bootstrapped SG target on a tiny linear RNN, against the closed form.

h_t = W h_{t-1} + U x_t, squared loss 0.5 ||h_t - y_t||^2 at every step,
loss of a chunk = sum over its positions / (B x T). Per example, the gradient
of all losses after step k with respect to h_k is

    G_k = sum_{t > k} (W^T)^(t-k) (h_t - y_t),

and docs/regimes.md says the target dni-tbptt forms at a chunk's first state h_k
(chunk = steps k+1..k+T) is the within-chunk part plus the synthetic
gradient at h_{k+T} carried back through the chunk:

    target_k = sum_{t=k+1}^{k+T} (W^T)^(t-k) (h_t - y_t) + scale (W^T)^T M(h_{k+T}).

With an oracle M that returns G exactly, the target is G_k itself (the true
full-sequence gradient at the first state).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dnibench.regimes.synthetic_gradient import SGConfig, SyntheticGradient
from dnibench.studies.recurrent.chunks import Chunk, sequence_chunks
from dnibench.studies.recurrent.core import State
from dnibench.studies.recurrent.dni_tbptt import DNITBPTT

DIM, IN, BATCH, LENGTH, T = 3, 2, 2, 12, 4


class LinearRNN(nn.Module):
    """h_t = W h_{t-1} + U x_t; outputs are the states; state is ``(h,)``."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.W = nn.Parameter(0.6 * torch.randn(DIM, DIM, generator=generator, dtype=torch.float64))
        self.U = nn.Parameter(torch.randn(DIM, IN, generator=generator, dtype=torch.float64))
        self.state_size = DIM

    def forward(self, inputs: Tensor, state: State | None) -> tuple[Tensor, State]:
        h = torch.zeros(inputs.shape[0], DIM, dtype=torch.float64) if state is None else state[0]
        states = []
        for t in range(inputs.shape[1]):
            h = h @ self.W.T + inputs[:, t] @ self.U.T
            states.append(h)
        return torch.stack(states, dim=1), (h,)

    def join(self, state: State) -> Tensor:
        return state[0]

    def split(self, vector: Tensor) -> State:
        return (vector,)


def squared_loss(states: Tensor, chunk: Chunk) -> Tensor:
    return 0.5 * ((states - chunk.targets) ** 2).sum() / chunk.positions


class Oracle(nn.Module):
    """Returns the closed-form future gradient of whichever known state it is shown."""

    def __init__(self, states: Tensor, future: Tensor) -> None:
        super().__init__()
        self.states, self.future = states, future  # (LENGTH + 1, B, D) each
        self.unused = nn.Parameter(torch.zeros((), dtype=torch.float64))  # regress() steps it

    def forward(self, h: Tensor) -> Tensor:
        distance = ((self.states - h[None]) ** 2).sum(dim=(1, 2))
        k = int(distance.argmin())
        assert distance[k] < 1e-20, "the oracle was shown a state it does not know"
        return self.future[k] + 0.0 * self.unused


def data() -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(BATCH, LENGTH, IN, generator=generator, dtype=torch.float64)
    y = torch.randn(BATCH, LENGTH, DIM, generator=generator, dtype=torch.float64)
    return x, y


def closed_form(core: LinearRNN, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """States h_0..h_N, errors e_1..e_N (index t-1) and G_0..G_N, each per example."""
    with torch.no_grad():
        outputs, _ = core(x, None)
    states = torch.cat([torch.zeros(1, BATCH, DIM, dtype=torch.float64), outputs.transpose(0, 1)])
    errors = (outputs - y).transpose(0, 1)
    W = core.W.detach()
    future = torch.zeros(LENGTH + 1, BATCH, DIM, dtype=torch.float64)
    for k in range(LENGTH - 1, -1, -1):  # G_k = W^T (e_{k+1} + G_{k+1})
        future[k] = (errors[k] + future[k + 1]) @ W
    return states, errors, future


def regime_with(core: LinearRNN, net: nn.Module, scale: float) -> DNITBPTT:
    """dni-tbptt over ``core`` with M = ``net``, which regress() leaves alone.

    The SG's optimiser holds the parameters of the net it was built with, so
    ``net`` (put in after) keeps its weights: every chunk sees the same M.
    """
    sg = SyntheticGradient((DIM,), SGConfig(scale=scale))
    sg.net = net
    frozen = torch.optim.SGD(core.parameters(), lr=0.0)  # states stay those of the closed form
    return DNITBPTT(core, squared_loss, frozen, sg)


def run_chunks(regime: DNITBPTT, x: Tensor, y: Tensor) -> list[Tensor | None]:
    targets, state = [], None
    for chunk in sequence_chunks(x, y, T):
        step = regime.train_chunk(chunk, state)
        targets.append(step.sg_target)
        state = step.state
    return targets


def test_with_an_oracle_sg_the_target_is_the_true_future_gradient() -> None:
    core = LinearRNN()
    x, y = data()
    states, _, future = closed_form(core, x, y)
    targets = run_chunks(regime_with(core, Oracle(states, future), scale=1.0), x, y)
    assert targets[0] is None  # the first chunk starts the sequence: no prediction to correct
    for index, target in enumerate(targets[1:], start=1):
        torch.testing.assert_close(target, future[index * T])


def test_target_is_within_chunk_gradient_plus_the_carried_synthetic_gradient() -> None:
    core = LinearRNN()
    x, y = data()
    _, errors, future = closed_form(core, x, y)
    generator = torch.Generator().manual_seed(9)
    sg_net = nn.Linear(DIM, DIM, dtype=torch.float64)
    with torch.no_grad():
        sg_net.weight.copy_(torch.randn(DIM, DIM, generator=generator, dtype=torch.float64))
        sg_net.bias.copy_(torch.randn(DIM, generator=generator, dtype=torch.float64))
    scale = 0.5
    regime = regime_with(core, sg_net, scale)
    W = core.W.detach()
    state, checked = None, 0
    for chunk in sequence_chunks(x, y, T):
        first = state
        step = regime.train_chunk(chunk, state)
        state = step.state
        if first is None:
            continue
        start = checked * T + T  # index k of the first state h_k
        within = torch.zeros(BATCH, DIM, dtype=torch.float64)
        for t in range(start + T, start, -1):  # sum_{t=k+1}^{k+T} (W^T)^(t-k) e_t
            within = (within + errors[t - 1]) @ W
        carried = torch.zeros(BATCH, DIM, dtype=torch.float64)
        if not chunk.ends:
            with torch.no_grad():
                carried = scale * sg_net(state[0])  # M at h_{k+T}, the chunk's last state
            carried = carried @ torch.linalg.matrix_power(W, T)
        torch.testing.assert_close(step.sg_target, within + carried)
        if chunk.ends:  # the last chunk's target is exact: nothing follows it
            torch.testing.assert_close(step.sg_target, future[start])
        checked += 1
    assert checked == LENGTH // T - 1
