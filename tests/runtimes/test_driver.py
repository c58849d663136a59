"""The stage driver under virtual time agrees with the simulator's own engine.

The driver runs each stage's real action list over a fake transport whose
clock is virtual: a fake stage charges each piece of work a fixed cost, a
send costs its sender ``send`` and arrives ``delay`` later, and stages take
turns in global time order (the stage with the earliest clock goes next, as
in :mod:`dnibench.simulate.engine`). Both must then produce the same compute
events, in the same order, at the same times, and end every step at the same
time: two independent encodings of the same action rules checked against
each other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from dnibench.instrument import SpanKind
from dnibench.runtimes.driver import StageDriver
from dnibench.runtimes.harness import action_stream
from dnibench.runtimes.spec import BenchSpec
from dnibench.simulate.costs import LinkModel, PipelineCosts, StageCosts
from dnibench.simulate.engine import SimConfig, simulate
from dnibench.simulate.programs import OP_B, OP_D, OP_F, OP_G, OP_I, OP_S, OP_U, OP_W

DELAY = 0.173
Event = tuple[int, int, float, float]  # op code, microbatch, start, end


class VirtualTime:
    """Per-stage virtual clocks; only the runnable stage with the earliest clock may act."""

    def __init__(self, stages: int) -> None:
        self.clock = [0.0] * stages
        self.done = [False] * stages
        self.waiting: list[tuple[int, str, int] | None] = [None] * stages
        self.arrivals: dict[tuple[int, str, int], float] = {}
        self.cond = threading.Condition()
        self.error: BaseException | None = None

    def _effective(self, k: int) -> float | None:
        if self.done[k]:
            return None
        key = self.waiting[k]
        if key is None:
            return self.clock[k]
        return max(self.clock[k], self.arrivals[key]) if key in self.arrivals else None

    def _await_turn(self, k: int) -> None:
        while True:
            if self.error is not None:
                raise RuntimeError("another stage failed")
            ready = [
                (t, j) for j in range(len(self.clock)) if (t := self._effective(j)) is not None
            ]
            if not ready:
                raise RuntimeError("deadlock: every unfinished stage waits")
            if min(ready)[1] == k:
                return
            self.cond.wait(5.0)

    def advance(self, k: int, cost: float) -> float:
        with self.cond:
            self._await_turn(k)
            start = self.clock[k]
            self.clock[k] += cost
            self.cond.notify_all()
            return start

    def post(self, k: int, dest: int, what: str, mb: int, cost: float) -> None:
        with self.cond:
            self._await_turn(k)
            self.clock[k] += cost
            self.arrivals[(dest, what, mb)] = self.clock[k] + DELAY
            self.cond.notify_all()

    def arrived(self, k: int, what: str, mb: int) -> bool:
        with self.cond:
            self._await_turn(k)
            at = self.arrivals.get((k, what, mb))
            return at is not None and at <= self.clock[k]

    def take(self, k: int, what: str, mb: int) -> None:
        with self.cond:
            self.waiting[k] = (k, what, mb)
            self.cond.notify_all()
            self._await_turn(k)
            self.clock[k] = max(self.clock[k], self.arrivals.pop((k, what, mb)))
            self.waiting[k] = None
            self.cond.notify_all()

    def finish(self, k: int, error: BaseException | None = None) -> None:
        with self.cond:
            self.done[k] = True
            self.error = self.error or error
            self.cond.notify_all()


class FakeTransport:
    """Messages on virtual time; like every transport, it never sees an action."""

    times_ready_receives = False

    def __init__(self, time: VirtualTime, k: int, send_cost: float) -> None:
        self.time, self.k, self.send_cost = time, k, send_cost

    def post(self, mb: int) -> None:
        pass

    def ready(self, what: str, mb: int) -> bool:
        return self.time.arrived(self.k, what, mb)

    def receive(self, what: str, mb: int) -> torch.Tensor:
        self.time.take(self.k, what, mb)
        return torch.zeros(1)

    def send(self, what: str, mb: int, tensor: torch.Tensor) -> None:
        dest = self.k + 1 if what == "activation" else self.k - 1
        self.time.post(self.k, dest, what, mb, self.send_cost)

    def flush(self) -> None:
        pass

    def check_abort(self) -> None:
        pass


class VirtualSpans:
    """Span sink on one stage's virtual clock; keeps STEP ends."""

    def __init__(self, time: VirtualTime, k: int) -> None:
        self.time, self.k = time, k
        self.step_ends: list[float] = []

    @contextmanager
    def span(self, kind: SpanKind, mb: int = -1) -> Iterator[None]:
        yield

    def mark(self) -> float:
        return self.time.clock[self.k]

    def add(self, kind: SpanKind, mb: int, start: float, end: float) -> None:
        if kind is SpanKind.STEP:
            self.step_ends.append(end)


@dataclass
class _Stats:
    loss: torch.Tensor
    cosine: torch.Tensor


class FakeStage:
    """The Stage interface the driver calls; each op costs what the simulator charges."""

    def __init__(self, time: VirtualTime, k: int, stages: int, costs: StageCosts, sg, si) -> None:
        self.time, self.index, self.costs = time, k, costs
        self.is_first, self.is_last = k == 0, k == stages - 1
        self.sg, self.si = sg, si
        self.events: list[Event] = []
        self.split: list[bool] = []  # per forward, whether it was told its backward is split

    def _work(self, op: int, mb: int, cost: float) -> None:
        start = self.time.advance(self.index, cost)
        self.events.append((op, mb, start, start + cost))

    def forward(self, mb, inp, labels, *, loss_scale, split_backward=False):
        self._work(OP_F, mb, self.costs.forward)
        self.split.append(split_backward)
        return torch.zeros(1)

    def backward(self, mb, grad=None):
        self._work(OP_B, mb, self.costs.backward)
        return None if self.is_first else torch.zeros(1)

    def backward_input(self, mb, grad=None):
        self._work(OP_D, mb, self.costs.backward_input)
        return None if self.is_first else torch.zeros(1)

    def backward_weight(self, mb):
        self._work(OP_W, mb, self.costs.backward_weight)

    def synthetic_backward(self, mb):
        self._work(OP_S, mb, self.costs.synth_backward)
        return None if self.is_first else torch.zeros(1)

    def update_synthetic_gradient(self, mb, delta):
        self._work(OP_G, mb, self.costs.sg_update)
        return _Stats(torch.zeros(()), torch.ones(()))

    def synthetic_input(self, mb, x):
        return torch.zeros(1)  # si_forward costs 0 here: the simulator folds it into F

    def update_synthetic_input(self, mb, real):
        self._work(OP_I, mb, self.costs.si_update)
        return torch.zeros(())

    def step(self):
        self._work(OP_U, -1, self.costs.optimizer)

    def report(self):
        return {}

    def discard(self):
        pass


def _costs(stages: int) -> PipelineCosts:
    """Distinct, untidy costs per stage, so no two events tie by accident."""
    rng = np.random.default_rng(7)
    return PipelineCosts.of(
        [
            StageCosts(
                forward=float(rng.uniform(0.5, 1.5)),
                backward=float(rng.uniform(1.0, 3.0)),
                synth_backward=float(rng.uniform(1.0, 3.0)),
                backward_input=float(rng.uniform(0.5, 1.5)),
                backward_weight=float(rng.uniform(0.5, 1.5)),
                sg_update=float(rng.uniform(0.1, 0.5)),
                si_update=float(rng.uniform(0.1, 0.5)),
                optimizer=float(rng.uniform(0.05, 0.2)),
                send=float(rng.uniform(0.01, 0.1)),
            )
            for _ in range(stages)
        ],
        link=LinkModel(latency=DELAY),
    )


def _drive(spec: BenchSpec, costs: PipelineCosts) -> tuple[list[FakeStage], list[VirtualSpans]]:
    """Every stage's real action list through the driver, one thread per stage, virtual time."""
    K = spec.world_size
    time = VirtualTime(K)
    unlocked = spec.regime.synthetic_gradients
    locked = not spec.regime.synthetic_inputs
    stages = [
        FakeStage(time, k, K, costs.stages[k], sg=object() if unlocked and k < K - 1 else None,
                  si=object() if not locked and k > 0 else None)
        for k in range(K)
    ]  # fmt: skip
    sinks = [VirtualSpans(time, k) for k in range(K)]

    def body(k: int) -> None:
        driver = StageDriver(
            stages[k],  # type: ignore[arg-type]
            FakeTransport(time, k, costs.stages[k].send),
            sinks[k],
            loss_scale=1.0,
            forward_locked=locked,
            microbatches_per_step=spec.microbatches,
        )
        try:
            driver.run(action_stream(spec, k), lambda mb: (torch.zeros(1), torch.zeros(1)))
        except BaseException as error:
            time.finish(k, error)
            raise
        time.finish(k)

    threads = [threading.Thread(target=body, args=(k,), daemon=True) for k in range(K)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert time.error is None, f"a driven stage failed: {time.error!r}"
    assert all(time.done), "a driven stage did not finish"
    return stages, sinks


@pytest.mark.parametrize(
    ("mode", "staleness"),
    [("sequential", 0), ("gpipe", 0), ("1f1b", 0), ("zb", 0), ("dni", 0), ("dni", 2),
     ("cdni", 1), ("unlock", 0), ("unlock", 2)],
)  # fmt: skip
def test_driver_events_match_the_simulator(mode: str, staleness: int) -> None:
    K, m, steps = 3, 4, 3
    spec = BenchSpec(name=mode, mode=mode, stages=K, microbatches=m, batch_size=8 * m,
                     steps=steps, warmup=1, staleness=staleness)  # fmt: skip
    costs = _costs(K)
    config = SimConfig(mode, K, m, steps=steps, warmup=1, staleness=staleness, record=True)
    simulated = simulate(config, costs)
    assert simulated.timeline is not None
    stages, sinks = _drive(spec, costs)
    for k in range(K):
        expected = [(op, mb, t0, t1) for j, op, mb, t0, t1 in simulated.timeline if j == k]
        driven = stages[k].events
        assert [e[:2] for e in driven] == [e[:2] for e in expected], f"stage {k} event order"
        np.testing.assert_allclose(
            [e[2:] for e in driven], [e[2:] for e in expected], rtol=1e-12, err_msg=f"stage {k}"
        )
        np.testing.assert_allclose(sinks[k].step_ends, simulated.step_end[k], rtol=1e-12)
        # Only a split backward makes the forward keep what the weight half needs.
        assert all(stages[k].split) if mode == "zb" else not any(stages[k].split)


def test_zb_driven_and_simulated_ends_before_1f1b() -> None:
    """The split backward pays: under the same costs (D + W = B) zb's steps end sooner."""
    K, m, steps = 3, 4, 2
    base = _costs(K)
    costs = PipelineCosts.of(
        [StageCosts(forward=s.forward, backward=s.backward, backward_input=s.backward / 2,
                    backward_weight=s.backward / 2, optimizer=s.optimizer, send=s.send)
         for s in base.stages],
        link=base.link,
    )  # fmt: skip
    ends = {}
    for mode in ("1f1b", "zb"):
        spec = BenchSpec(name=mode, mode=mode, stages=K, microbatches=m, batch_size=8 * m,
                         steps=steps, warmup=1)  # fmt: skip
        _, sinks = _drive(spec, costs)
        ends[mode] = max(sink.step_ends[-1] for sink in sinks)
    assert ends["zb"] < ends["1f1b"]


def test_the_comparison_sees_a_different_rule() -> None:
    """Guard on the check itself: a simulator with twice the link delay disagrees."""
    K, m = 2, 2
    spec = BenchSpec(name="g", mode="gpipe", stages=K, microbatches=m, batch_size=8, steps=2,
                     warmup=1)  # fmt: skip
    costs = _costs(K)
    slower = PipelineCosts.of(costs.stages, link=LinkModel(latency=2 * DELAY))
    simulated = simulate(SimConfig("gpipe", K, m, steps=2, warmup=1, record=True), slower)
    stages, _ = _drive(spec, costs)
    assert simulated.timeline is not None
    expected = [t1 for j, _, _, _, t1 in simulated.timeline if j == 1]
    assert not np.allclose([e[3] for e in stages[1].events], expected, rtol=1e-12)
