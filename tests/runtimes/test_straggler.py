"""The straggler rule: which stage is slowed (one selection for every runtime) and by how much.

No timed assertion here (the machine is noisy): the clock is patched, and the
stage a sleep comes from is counted. Whether the slow-down shows in measured
timings is the pipeline report's Straggler verdict (studies/pipeline/straggler_check.py).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from dnibench.instrument import SpanKind
from dnibench.runtimes import straggler
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.straggler import slow_factor_of, straggle


class FakeClock:
    """``perf_counter`` at a set time; ``sleep`` records its seconds (and the calling thread)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[tuple[str, float]] = []

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((threading.current_thread().name, seconds))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(10.0)
    monkeypatch.setattr(straggler, "time", fake)
    return fake


def test_only_the_slow_stage_gets_the_factor() -> None:
    assert [slow_factor_of(1, 1.5, k) for k in range(3)] == [1.0, 1.5, 1.0]
    assert [slow_factor_of(None, 1.5, k) for k in range(3)] == [1.0, 1.0, 1.0]


def test_straggle_sleeps_the_extra_share_of_the_work_just_done(clock: FakeClock) -> None:
    straggle(3.0, 9.5)  # 0.5 s of work just done: 2 x 0.5 s more
    straggle(1.5, 9.0)  # 1 s of work: 0.5 s more
    assert [seconds for _, seconds in clock.sleeps] == [pytest.approx(1.0), pytest.approx(0.5)]


def test_an_unslowed_stage_never_sleeps(clock: FakeClock) -> None:
    straggle(1.0, 0.0)
    assert clock.sleeps == []


def test_the_streams_runtime_slows_only_the_slowed_stage_once_per_compute(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sleep comes from stage 1's thread, one per forward and per backward it ran."""
    from dnibench.runtimes.streams.runner import run_streams

    real = __import__("time")
    monkeypatch.setattr(clock, "perf_counter", real.perf_counter)  # spans still need a clock
    spec = BenchSpec(
        name="slowed", mode="gpipe", width=16, depth=3, input_shape=(32,), stages=3,
        microbatches=2, batch_size=16, steps=4, warmup=1, slow_stage=1, slow_factor=3.0,
        runtime="streams", device="cpu",
    )  # fmt: skip
    result = run_streams(spec)
    threads = {name for name, _ in clock.sleeps}
    assert threads == {"dnibench-stage-1"}
    spans = result.ranks[1].spans
    compute = sum(
        int((spans[:, 0] == int(kind)).sum()) for kind in (SpanKind.FORWARD, SpanKind.BACKWARD)
    )
    assert len(clock.sleeps) == compute == 2 * spec.steps * spec.microbatches


def test_a_peer_stage_is_slowed_in_every_compute_call_it_makes(clock: FakeClock) -> None:
    """PyTorch's schedules: each wrapped chunk method sleeps once on the slowed rank only."""
    from dnibench.runtimes.distributed.peer_waits import PeerProgress
    from dnibench.runtimes.distributed.peers import _instrument

    def calls() -> SimpleNamespace:
        return SimpleNamespace(
            forward_one_chunk=lambda chunk, *a, **k: None,
            backward_one_chunk=lambda chunk, *a, **k: None,
            backward_weight_one_chunk=lambda chunk, *a, **k: None,
        )

    slowed, plain = calls(), calls()
    progress = PeerProgress()
    _instrument(slowed, None, 3.0, False, progress)
    _instrument(plain, None, 1.0, False, progress)
    for stage in (slowed, plain):
        for chunk in range(4):
            stage.forward_one_chunk(chunk)
            stage.backward_one_chunk(chunk)
    assert len(clock.sleeps) == 8
    assert progress.actions == 16
