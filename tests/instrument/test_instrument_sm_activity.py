"""SM activity from NVML's GPM counters, on a stand-in pynvml (no GPU here)."""

from __future__ import annotations

import types
from typing import Any

from dnibench.instrument.sm_activity import SmActivity


class _Metric:
    def __init__(self) -> None:
        self.metricId = 0
        self.nvmlReturn = 0
        self.value = 0.0


class _Request:
    def __init__(self) -> None:
        self.version = 0
        self.numMetrics = 0
        self.sample1: Any = None
        self.sample2: Any = None
        self.metrics = [_Metric() for _ in range(4)]


def fake_gpm(supported: bool = True, fail_metrics: bool = False) -> types.SimpleNamespace:
    """GPM whose SM busy % is the number of sample reads so far x 10, occupancy half that."""
    state = {"reads": 0, "freed": 0}

    def sample_get(handle: object, sample: dict) -> None:
        state["reads"] += 1
        sample["n"] = state["reads"]

    def metrics_get(request: _Request) -> None:
        if fail_metrics:
            raise RuntimeError("NVMLError_NotSupported")
        assert request.numMetrics == 2 and request.sample1 is not request.sample2
        span = request.sample2["n"] - request.sample1["n"]
        for metric in request.metrics[:2]:
            scale = 10.0 if metric.metricId == 2 else 5.0
            metric.value = scale * request.sample2["n"] / span

    def free(sample: dict) -> None:
        state["freed"] += 1

    return types.SimpleNamespace(
        state=state,
        nvmlGpmQueryDeviceSupport=lambda h: types.SimpleNamespace(isSupportedDevice=supported),
        nvmlGpmSampleAlloc=dict,
        nvmlGpmSampleGet=sample_get,
        nvmlGpmMetricsGet=metrics_get,
        nvmlGpmSampleFree=free,
        c_nvmlGpmMetricsGet_t=_Request,
        NVML_GPM_METRICS_GET_VERSION=1,
        NVML_GPM_METRIC_SM_UTIL=2,
        NVML_GPM_METRIC_SM_OCCUPANCY=3,
    )


def test_reads_cover_the_time_since_the_previous_read() -> None:
    nvml = fake_gpm()
    sm = SmActivity(nvml, "gpu")
    assert sm.available and sm.reason == ""
    assert sm.read() == (20.0, 10.0)  # samples 1 -> 2
    assert sm.read() == (30.0, 15.0)  # samples 2 -> 3: the buffers alternate
    sm.close()
    assert nvml.state["freed"] == 2 and not sm.available
    assert sm.read() == (None, None)


def test_a_gpu_without_gpm_says_so() -> None:
    sm = SmActivity(fake_gpm(supported=False), "gpu")
    assert not sm.available and "no GPM counters" in sm.reason
    assert sm.read() == (None, None)


def test_an_old_pynvml_without_gpm_degrades() -> None:
    sm = SmActivity(types.SimpleNamespace(), "gpu")
    assert not sm.available and sm.reason.startswith("SM activity unavailable: AttributeError")


def test_a_failing_metrics_call_stops_the_readings_with_the_reason() -> None:
    sm = SmActivity(fake_gpm(fail_metrics=True), "gpu")
    assert sm.read() == (None, None)
    assert not sm.available and "NVMLError_NotSupported" in sm.reason
