"""CPU/RSS helpers and the NVML sampler, real (no GPU here) and faked."""

from __future__ import annotations

import sys
import time
import types
from typing import Any

import pytest

from dnibench.instrument import NvmlSampler, cpu_times, peak_rss_bytes


def test_cpu_times_grow_with_work() -> None:
    before = cpu_times()
    deadline = time.perf_counter() + 0.05
    while time.perf_counter() < deadline:
        sum(range(1000))
    assert cpu_times() > before >= 0.0


def test_peak_rss_positive() -> None:
    rss = peak_rss_bytes()
    assert rss > 1 << 20  # a Python process with numpy is well over a MiB


def test_sampler_never_raises_on_this_machine() -> None:
    sampler = NvmlSampler(0, interval_s=0.01)
    sampler.start()
    result = sampler.stop()
    sampler.close()
    assert result["available"] is sampler.available
    if not sampler.available:
        assert sampler.reason.startswith("NVML unavailable: ")
        assert result == {"available": False, "reason": sampler.reason}


def test_sampler_without_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    sampler = NvmlSampler()
    assert sampler.available is False
    assert "pynvml" in sampler.reason
    sampler.start()
    assert sampler.stop() == {"available": False, "reason": sampler.reason}


class NVMLError_LibraryNotFound(Exception):
    """Named like pynvml's own error class, whose name the reason quotes."""


def fake_nvml(
    energy: bool, fail_init: bool = False
) -> tuple[types.SimpleNamespace, dict[str, Any]]:
    """A pynvml stand-in: 50% util, rising memory, 100 W, 1500 MHz, 1 J per call of energy."""
    state: dict[str, Any] = {"init": 0, "shutdown": 0, "energy_mj": 0, "mem": 0}
    mod = types.SimpleNamespace(NVML_CLOCK_SM=1)  # sys.modules accepts any object

    def init() -> None:
        if fail_init:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")
        state["init"] += 1

    def shutdown() -> None:
        state["shutdown"] += 1

    def memory(handle: object) -> types.SimpleNamespace:
        state["mem"] += 1024
        return types.SimpleNamespace(used=state["mem"])

    def total_energy(handle: object) -> int:
        if not energy:
            raise RuntimeError("NVMLError_NotSupported")
        state["energy_mj"] += 1000
        return state["energy_mj"]

    mod.nvmlInit = init
    mod.nvmlShutdown = shutdown
    mod.nvmlDeviceGetHandleByIndex = lambda i: ("gpu", i)
    mod.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=50, memory=10)
    mod.nvmlDeviceGetMemoryInfo = memory
    mod.nvmlDeviceGetPowerUsage = lambda h: 100_000
    mod.nvmlDeviceGetClockInfo = lambda h, clock: 1500
    mod.nvmlDeviceGetTotalEnergyConsumption = total_energy
    return mod, state


def test_sampler_reports_init_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    mod, _ = fake_nvml(energy=True, fail_init=True)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    sampler = NvmlSampler()
    assert sampler.available is False
    assert sampler.reason == (
        "NVML unavailable: NVMLError_LibraryNotFound (NVML Shared Library Not Found)"
    )
    assert sampler.stop() == {"available": False, "reason": sampler.reason}


@pytest.mark.parametrize("energy", [True, False])
def test_sampler_summary_with_fake_gpu(monkeypatch: pytest.MonkeyPatch, energy: bool) -> None:
    mod, state = fake_nvml(energy)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    sampler = NvmlSampler(device_index=2, interval_s=0.005)
    assert sampler.available and sampler.reason == ""
    sampler.start()
    time.sleep(0.05)
    result = sampler.stop()
    sampler.close()
    assert state["init"] == state["shutdown"] == 1
    assert result["available"] is True
    assert result["device_index"] == 2
    n = result["samples"]
    assert n >= 2  # one when the thread starts, one at stop(), whatever the load
    assert result["util_mean_pct"] == result["util_max_pct"] == 50.0
    assert result["memory_used_max_bytes"] == 1024 * n
    assert result["power_mean_w"] == pytest.approx(100.0)
    assert result["sm_clock_mean_mhz"] == pytest.approx(1500.0)
    assert 0.0 <= result["overhead_fraction"] < 1.0
    if energy:
        assert result["energy_source"] == "counter"
        # The counter is read at start, at every sample and at stop, 1 J apart each time.
        assert result["energy_j"] == pytest.approx(float(n + 1))
        assert [row[3] for row in result["series"]] == sorted(row[3] for row in result["series"])
    else:
        # 100 W from the first sample to the last, both inside [start, stop].
        assert result["energy_source"] == "power_integral"
        assert 0.0 < result["energy_j"] <= 100.0 * result["wall_s"]


def test_series_rows_carry_host_times_in_sample_order(monkeypatch: pytest.MonkeyPatch) -> None:
    mod, _ = fake_nvml(energy=True)
    monkeypatch.setitem(sys.modules, "pynvml", mod)
    sampler = NvmlSampler(interval_s=0.005)
    before = time.perf_counter()
    sampler.start()
    time.sleep(0.03)
    result = sampler.stop()
    sampler.close()
    times = [row[0] for row in result["series"]]
    assert len(times) == result["samples"] and times == sorted(times)
    assert before <= times[0] and times[-1] <= time.perf_counter()
    assert {row[1] for row in result["series"]} == {50.0}  # util, then power in watts
    assert {row[2] for row in result["series"]} == {100.0}
    # The fake has no GPM counters: no SM figure, and the reason is said.
    assert result["sm_active_mean_pct"] is None
    assert result["sm_activity_note"].startswith("SM activity unavailable")
