"""The streams engine's scheduling logic on the CPU stand-in: order, spans and failures."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from dnibench.instrument import SpanKind
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.engine import StreamStageFailure
from dnibench.runtimes.streams.handoff import Handoff
from dnibench.runtimes.streams.runner import run_streams
from dnibench.runtimes.streams.standin import OrderLog, StandInEvent
from dnibench.runtimes.streams.transport import HandoffTransport

SpecOf = Callable[..., BenchSpec]
KIND, MB, T0, T1 = 0, 1, 2, 3


def _kinds(spans: np.ndarray) -> set[SpanKind]:
    return {SpanKind(int(kind)) for kind in spans[:, KIND]}


def _first(spans: np.ndarray, kind: SpanKind, mb: int) -> np.ndarray:
    rows = spans[(spans[:, KIND] == kind) & (spans[:, MB] == mb)]
    assert len(rows) == 1, f"{kind.name} of microbatch {mb}: {len(rows)} spans"
    return rows[0]


def test_every_wait_is_on_an_event_its_neighbour_recorded_earlier(spec_of: SpecOf) -> None:
    spec = spec_of("gpipe", 3, microbatches=2, steps=2)
    log = OrderLog()
    run_streams(spec, order_log=log)
    entries = log.entries()
    recorded = {}
    waits = 0
    for position, entry in enumerate(entries):
        if entry.op == "record":
            recorded[entry.event] = position
            continue
        waits += 1
        assert entry.event in recorded, f"{entry.stream} waited on an unrecorded event"
        assert entry.event_stream != entry.stream
        neighbours = {int(entry.stream[-1]) - 1, int(entry.stream[-1]) + 1}
        assert int(entry.event_stream[-1]) in neighbours
    # Two boundaries, each carrying an activation down and a gradient up per microbatch.
    assert waits == 2 * 2 * spec.steps * spec.microbatches


@pytest.mark.parametrize("mode", ["gpipe", "1f1b", "dni"])
def test_a_consumer_never_runs_before_its_producer(mode: str, spec_of: SpecOf) -> None:
    spec = spec_of(mode, 3, microbatches=4, steps=2)
    spans = run_streams(spec).aligned_spans()
    for k in range(1, spec.stages):
        for mb in range(spec.steps * spec.microbatches):
            made = _first(spans[k - 1], SpanKind.FORWARD, mb)
            used = _first(spans[k], SpanKind.FORWARD, mb)
            assert used[T0] >= made[T1], f"stage {k} ran F{mb} before stage {k - 1} finished it"
    if mode != "dni":  # true backward: stage k needs stage k+1's backward of the microbatch
        for k in range(spec.stages - 1):
            for mb in range(spec.steps * spec.microbatches):
                made = _first(spans[k + 1], SpanKind.BACKWARD, mb)
                used = _first(spans[k], SpanKind.BACKWARD, mb)
                assert used[T0] >= made[T1]


def test_a_hand_off_posted_before_its_event_is_recorded_is_caught(
    spec_of: SpecOf, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A producer that forgets to record its event: the consumer's stream must refuse to wait."""

    def careless_send(self: HandoffTransport, what, mb, tensor) -> None:
        to = self.down if what == "activation" else self.up
        event = StandInEvent(stream=self.stream.name)  # never recorded
        to.inbox.post(what, mb, Handoff(tensor, event, self.index))

    monkeypatch.setattr(HandoffTransport, "send", careless_send)
    with pytest.raises(StreamStageFailure, match=r"stage [01] failed.*before it was recorded"):
        run_streams(spec_of("gpipe", 2, microbatches=2))


def test_spans_come_out_per_stage_with_the_kinds_of_its_work(spec_of: SpecOf) -> None:
    result = run_streams(spec_of("unlock", 3, microbatches=2, steps=2))
    spans = result.aligned_spans()
    assert len(spans) == 3
    step = {SpanKind.STEP, SpanKind.FORWARD, SpanKind.BACKWARD, SpanKind.OPTIMIZER}
    assert _kinds(spans[0]) == step | {SpanKind.SEND, SpanKind.SG_UPDATE, SpanKind.WAIT_GRADIENT}
    middle = step | {SpanKind.SEND, SpanKind.SG_UPDATE, SpanKind.WAIT_GRADIENT}
    middle |= {SpanKind.SI_FORWARD, SpanKind.SI_UPDATE, SpanKind.WAIT_ACTIVATION}
    assert _kinds(spans[1]) == middle
    last = step | {SpanKind.SEND, SpanKind.SI_FORWARD, SpanKind.SI_UPDATE}
    assert _kinds(spans[2]) == last | {SpanKind.WAIT_ACTIVATION}
    for stage_spans in spans:
        assert (stage_spans[:, T1] >= stage_spans[:, T0]).all()
        assert int((stage_spans[:, KIND] == SpanKind.STEP).sum()) == 2


def test_gpipe_spans_wait_on_the_lock_each_stage_has(spec_of: SpecOf) -> None:
    spans = run_streams(spec_of("gpipe", 2, microbatches=2)).aligned_spans()
    assert SpanKind.WAIT_ACTIVATION not in _kinds(spans[0])
    assert SpanKind.WAIT_GRADIENT in _kinds(spans[0])
    assert SpanKind.WAIT_ACTIVATION in _kinds(spans[1])
    assert SpanKind.WAIT_GRADIENT not in _kinds(spans[1])


def test_spans_off_keeps_only_step_markers(spec_of: SpecOf) -> None:
    result = run_streams(spec_of("dni", 2, microbatches=2, spans=False))
    for stage_spans in result.aligned_spans():
        assert _kinds(stage_spans) == {SpanKind.STEP}


def test_a_stage_that_raises_stops_the_run_and_is_named(spec_of: SpecOf) -> None:
    spec = spec_of("gpipe", 3, microbatches=2, steps=4, fault="raise:1:1", timeout_s=30)
    with pytest.raises(StreamStageFailure, match="stage 1 failed: RuntimeError: injected") as info:
        run_streams(spec)
    assert info.value.stage == 1


def test_metrics_come_from_the_event_spans(spec_of: SpecOf) -> None:
    spec = spec_of("1f1b", 2, microbatches=4, steps=4).with_(warmup=1)
    result = run_streams(spec)
    metrics = result.metrics
    assert metrics.samples == spec.batch_size * (spec.steps - spec.warmup)
    assert metrics.efficiency > 0 and metrics.throughput > 0
    for stage in metrics.stages:
        assert 0 < stage.busy_fraction <= 1
        # The window starts where the slowest stage ended its warm-up, so a stage that ran
        # ahead may have started up to one step's forwards before it (threads race here).
        measured_steps = spec.steps - spec.warmup
        low, high = spec.microbatches * (measured_steps - 1), spec.microbatches * measured_steps
        assert low <= stage.microbatches <= high


def test_a_run_past_its_deadline_stops_every_stage(spec_of: SpecOf) -> None:
    spec = spec_of("gpipe", 2, microbatches=2, steps=200)
    with pytest.raises(StreamStageFailure, match="exceeded 0 s") as info:
        run_streams(spec, deadline_s=0.0)
    assert info.value.stage == -1


def test_a_hung_stage_is_blamed_not_the_stage_waiting_for_it(
    spec_of: SpecOf, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stage 1 of 3 hangs at step 1: stages 0 and 2 wait on it, its own watchdog names it."""
    import threading

    from dnibench.runtimes.streams import engine, runner

    release = threading.Event()

    def hooks(spec: object, stage: int):  # type: ignore[no-untyped-def]
        def hang(step: int) -> None:
            if step == 1:
                release.wait(120)  # a hang the test can end (a daemon thread otherwise)

        return hang if stage == 1 else None

    monkeypatch.setattr(runner, "fault_hook", hooks)
    monkeypatch.setattr(engine, "JOIN_GRACE_S", 1.0)
    spec = spec_of("gpipe", 3, microbatches=2, steps=4, timeout_s=4)
    try:
        with pytest.raises(StreamStageFailure, match=r"^stage 1 hung: no progress for") as info:
            run_streams(spec)
    finally:
        release.set()
    assert info.value.stage == 1
    assert "timeout_s 4), stopped after step 0 (its last span)" in str(info.value)
