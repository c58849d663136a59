"""SM activity from NVML's GPU performance monitoring (GPM), where the GPU offers it.

NVML's plain utilisation is the share of time *any* kernel ran: one tiny
kernel on one SM counts the whole GPU as busy, so K pipeline stages sharing a
GPU can show 100 % while most SMs sit idle. GPM (Hopper and later, through
``nvmlGpmSampleGet`` / ``nvmlGpmMetricsGet``) reports what the SMs did
between two samples: the share of SMs that were busy (``SM_UTIL``) and of
warps that were resident (``SM_OCCUPANCY``). Those are the counters to hold
span-based idle against.

Everything degrades: an older GPU, an older pynvml, a virtual machine that
hides the counters, or any NVML error leaves :attr:`SmActivity.available`
False and :attr:`SmActivity.reason` saying why; nothing here raises.
"""

from __future__ import annotations

import contextlib
from types import ModuleType

__all__ = ["SmActivity"]

_SUCCESS = 0  # NVML_SUCCESS


class SmActivity:
    """SM busy and occupancy percentages between consecutive :meth:`read` calls.

    ``nvml`` is the imported ``pynvml`` module (or a stand-in for tests) and
    ``handle`` a device handle. Construction takes the first sample, so the
    first :meth:`read` covers the time since then. Two sample buffers are
    reused alternately, so a read costs one NVML sample and one metrics call.
    """

    def __init__(self, nvml: ModuleType, handle: object) -> None:
        self.available = False
        self.reason = ""
        self._nvml = nvml
        self._handle = handle
        self._samples: list[object] = []
        try:
            support = nvml.nvmlGpmQueryDeviceSupport(handle)
            if not getattr(support, "isSupportedDevice", 0):
                self.reason = "SM activity unavailable: this GPU has no GPM counters"
                return
            self._samples = [nvml.nvmlGpmSampleAlloc(), nvml.nvmlGpmSampleAlloc()]
            nvml.nvmlGpmSampleGet(handle, self._samples[0])
            self.available = True
        except Exception as exc:  # AttributeError on old pynvml, NVMLError_* otherwise
            self.reason = f"SM activity unavailable: {type(exc).__name__} ({exc})"
            self.close()

    def read(self) -> tuple[float | None, float | None]:
        """(SM busy %, SM occupancy %) since the previous read; (None, None) when unavailable."""
        if not self.available:
            return None, None
        nvml = self._nvml
        previous, current = self._samples
        try:
            nvml.nvmlGpmSampleGet(self._handle, current)
            request = nvml.c_nvmlGpmMetricsGet_t()
            request.version = nvml.NVML_GPM_METRICS_GET_VERSION
            request.numMetrics = 2
            request.sample1 = previous
            request.sample2 = current
            request.metrics[0].metricId = nvml.NVML_GPM_METRIC_SM_UTIL
            request.metrics[1].metricId = nvml.NVML_GPM_METRIC_SM_OCCUPANCY
            nvml.nvmlGpmMetricsGet(request)
        except Exception as exc:
            self.available = False
            self.reason = f"SM activity stopped: {type(exc).__name__} ({exc})"
            return None, None
        self._samples = [current, previous]

        def value(index: int) -> float | None:
            metric = request.metrics[index]
            return float(metric.value) if metric.nvmlReturn == _SUCCESS else None

        return value(0), value(1)

    def close(self) -> None:
        """Free the sample buffers (never raises)."""
        for sample in self._samples:
            with contextlib.suppress(Exception):
                self._nvml.nvmlGpmSampleFree(sample)
        self._samples = []
        self.available = False
