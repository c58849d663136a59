"""The CPU stand-in for streams, the hand-off inbox and stage placement, without a GPU."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from dnibench.errors import UserError
from dnibench.runtimes.streams.devices import STANDIN_NOTE, nvml_index, resolve_placement
from dnibench.runtimes.streams.handoff import (
    Abort,
    Handoff,
    HandoffTimeout,
    Inbox,
    StageAborted,
)
from dnibench.runtimes.streams.standin import HostTimebase, OrderLog, StandInEvent, StandInStream
from dnibench.runtimes.streams.stream import StreamOrderError


def test_waiting_on_an_event_never_recorded_is_an_ordering_error() -> None:
    consumer = StandInStream("stage-1")
    with pytest.raises(StreamOrderError, match="before it was recorded"):
        consumer.wait(StandInEvent(stream="stage-0"))


def test_a_recorded_event_is_complete_and_can_be_waited_on() -> None:
    log = OrderLog()
    producer, consumer = StandInStream("stage-0", log), StandInStream("stage-1", log)
    event = producer.record()
    assert event.query() and event.stream == "stage-0"
    consumer.wait(event)
    entries = log.entries()
    assert [(e.op, e.stream, e.event_stream) for e in entries] == [
        ("record", "stage-0", "stage-0"),
        ("wait", "stage-1", "stage-0"),
    ]
    assert entries[0].event == entries[1].event == event.id


def test_host_timebase_reads_record_times_in_order() -> None:
    stream = StandInStream("s")
    first = stream.record()
    second = stream.record()
    timebase = HostTimebase()
    assert timebase.ns(first) <= timebase.ns(second)
    with pytest.raises(StreamOrderError, match="never recorded"):
        timebase.ns(StandInEvent())


def _handoff(value: float = 1.0) -> Handoff:
    return Handoff(torch.full((2,), value), StandInStream("p").record(), producer=0)


def test_inbox_hands_each_tensor_out_once_by_kind_and_microbatch() -> None:
    inbox = Inbox(1, Abort(), timeout_s=1.0)
    inbox.post("activation", 3, _handoff(3.0))
    inbox.post("gradient", 3, _handoff(-3.0))
    assert inbox.ready("activation", 3) and not inbox.ready("activation", 4)
    assert float(inbox.take("gradient", 3).tensor[0]) == -3.0
    assert float(inbox.take("activation", 3).tensor[0]) == 3.0
    assert len(inbox) == 0
    inbox.post("activation", 5, _handoff())
    with pytest.raises(RuntimeError, match="twice"):
        inbox.post("activation", 5, _handoff())


def test_inbox_take_waits_for_a_later_post() -> None:
    inbox = Inbox(1, Abort(), timeout_s=5.0)
    poster = threading.Timer(0.05, lambda: inbox.post("activation", 0, _handoff(7.0)))
    poster.start()
    assert float(inbox.take("activation", 0).tensor[0]) == 7.0
    poster.join()


def test_inbox_timeout_names_the_late_neighbour() -> None:
    inbox = Inbox(2, Abort(), timeout_s=0.05)
    with pytest.raises(HandoffTimeout, match="gradient of microbatch 4 from stage 3"):
        inbox.take("gradient", 4)
    with pytest.raises(HandoffTimeout, match="activation of microbatch 1 from stage 1"):
        inbox.take("activation", 1)


def test_an_abort_wakes_a_waiting_stage_at_once() -> None:
    abort = Abort()
    inbox = Inbox(0, abort, timeout_s=30.0)
    threading.Timer(0.05, lambda: abort.trip(1, RuntimeError("boom"))).start()
    started = time.monotonic()
    with pytest.raises(StageAborted, match="stage 1 failed"):
        inbox.take("gradient", 0)
    assert time.monotonic() - started < 10.0
    abort.trip(2, RuntimeError("later"))
    assert abort.stage == 1 and str(abort.error) == "boom"


def test_placement_cpu_and_auto_without_cuda_use_the_stand_in() -> None:
    for device in ("cpu", "auto"):
        placement = resolve_placement(device, 3, cuda_available=False)
        assert not placement.cuda and placement.device_indices == ()
        assert placement.note == STANDIN_NOTE and len(placement.devices) == 3


def test_placement_cuda_without_a_gpu_fails_with_the_way_out() -> None:
    with pytest.raises(UserError, match=r'needs a CUDA GPU.*device = "cpu"'):
        resolve_placement("cuda", 2, cuda_available=False)
    with pytest.raises(UserError, match="not one of auto, cuda, cpu"):
        resolve_placement("tpu", 2, cuda_available=False)


def test_placement_spreads_stages_over_gpus_only_when_there_are_enough() -> None:
    spread = resolve_placement("cuda", 4, cuda_available=True, device_count=4)
    assert [d.index for d in spread.devices] == [0, 1, 2, 3]
    assert spread.device_indices == (0, 1, 2, 3) and "one stage per GPU" in spread.note


def test_nvml_index_follows_cuda_visible_devices() -> None:
    assert nvml_index(0, "3,1") == 3 and nvml_index(1, "3,1") == 1
    assert nvml_index(1, "") == 1
    assert nvml_index(0, "GPU-8a1b,GPU-77cd") == 0  # UUIDs: no mapping to read
