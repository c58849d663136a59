"""Process and GPU resource measurements that never stop a run.

CPU time and peak RSS come from ``getrusage`` (always available on POSIX).
GPU utilisation, memory, power, clocks and energy come from NVML through
``pynvml``, imported lazily; with no GPU, no driver or no ``pynvml`` the
sampler reports *why* it measured nothing instead of raising (docs/metrics.md,
"GPUs": the run goes on and says what it could not measure).

NVML utilisation is the percent of time a kernel ran, so a rank spinning in
a collective counts as busy: report it next to the span-based lock idle. Where
the GPU offers them, SM activity counters (:mod:`sm_activity`) are sampled too:
the share of SMs actually busy, which is what span idle should be held against.
Every sample keeps its time on the host clock (``perf_counter``, the clock the
spans are on), so telemetry can be cut to a benchmark's timed window afterwards
(:mod:`timed_window`).
"""

from __future__ import annotations

import itertools
import resource
import sys
import threading
import time
from typing import Any

from dnibench.instrument.sm_activity import SmActivity

__all__ = ["NvmlSampler", "cpu_times", "peak_rss_bytes"]


def cpu_times() -> float:
    """User + system CPU seconds of this process (children excluded).

    Children are excluded so that, say, data-loader workers do not inflate
    the compute cost attributed to a stage.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes() -> int:
    """Peak resident set size of this process in bytes.

    ``ru_maxrss`` is in KiB on Linux but in bytes on macOS.
    """
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss) if sys.platform == "darwin" else int(maxrss) * 1024


#: One NVML reading: (perf_counter s, util %, memory used bytes, power W, SM clock MHz,
#: energy counter mJ, SM busy %, SM occupancy %); the last two cover the time since the
#: previous reading.
_Sample = tuple[
    float, float | None, int | None, float | None, float | None, int | None, float | None,
    float | None,
]  # fmt: skip
#: The columns of the ``series`` a summary carries (see :meth:`NvmlSampler.stop`).
SERIES_COLUMNS = ("t_s", "util_pct", "power_w", "energy_mj", "sm_active_pct")


def _unavailable_reason(exc: BaseException) -> str:
    detail = str(exc)
    name = type(exc).__name__
    return f"NVML unavailable: {name} ({detail})" if detail else f"NVML unavailable: {name}"


class NvmlSampler:
    """Background sampler of one GPU through NVML.

    ``start()`` launches a daemon thread that reads utilisation, memory used,
    power and SM clock every ``interval_s``; ``stop()`` joins it and returns a
    summary. Energy is the difference of the board's cumulative energy
    counter when the GPU supports it (exact, no sampling error), else the
    trapezoidal integral of the sampled power. Each metric a GPU does not
    support is left out rather than failing the whole sampler. The time the
    thread spends in NVML calls is reported as ``overhead_fraction`` of wall
    time, so its cost to the benchmark is visible.

    When NVML cannot be used, ``available`` is False, ``reason`` says why,
    and ``start``/``stop`` do nothing; ``stop`` returns
    ``{"available": False, "reason": ...}``.
    """

    def __init__(self, device_index: int = 0, interval_s: float = 0.1) -> None:
        if interval_s <= 0:
            raise ValueError(f"NvmlSampler interval_s must be > 0, got {interval_s}")
        self.device_index = device_index
        self.interval_s = interval_s
        self.available = False
        self.reason = ""
        self._nvml: Any = None
        self._handle: object = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._samples: list[_Sample] = []
        self._sampling_s = 0.0
        self._t_start = 0.0
        self._energy_start_mj: int | None = None
        self._initialised = False
        self._sm: SmActivity | None = None
        try:
            import pynvml  # lazy: importing costs time and needs no GPU until used

            pynvml.nvmlInit()
            self._initialised = True
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
            self._nvml = pynvml
            self.available = True
        except ImportError as exc:
            self.reason = f"NVML unavailable: pynvml not installed ({exc})"
        except Exception as exc:  # NVMLError_* subclasses, created at import time
            self.reason = _unavailable_reason(exc)
            self._shutdown()

    def _unavailable(self) -> dict[str, object]:
        return {"available": False, "reason": self.reason}

    def _shutdown(self) -> None:
        if self._initialised:
            self._initialised = False
            try:
                import pynvml

                pynvml.nvmlShutdown()
            except Exception:  # shutting down must never raise either
                pass

    def _query(self, fn: str, *args: Any) -> Any:
        """One NVML query, None if this GPU does not support it."""
        try:
            return getattr(self._nvml, fn)(self._handle, *args)
        except Exception:
            return None

    def _energy_mj(self) -> int | None:
        value = self._query("nvmlDeviceGetTotalEnergyConsumption")
        return int(value) if value is not None else None

    def _sample(self) -> None:
        t0 = time.perf_counter()
        util = self._query("nvmlDeviceGetUtilizationRates")
        mem = self._query("nvmlDeviceGetMemoryInfo")
        power_mw = self._query("nvmlDeviceGetPowerUsage")
        sm_clock = self._query("nvmlDeviceGetClockInfo", getattr(self._nvml, "NVML_CLOCK_SM", 1))
        energy_mj = self._energy_mj()
        sm_busy, sm_occupancy = self._sm.read() if self._sm is not None else (None, None)
        t1 = time.perf_counter()
        self._sampling_s += t1 - t0
        self._samples.append(
            (
                t0,
                float(util.gpu) if util is not None else None,
                int(mem.used) if mem is not None else None,
                power_mw / 1e3 if power_mw is not None else None,
                float(sm_clock) if sm_clock is not None else None,
                energy_mj,
                sm_busy,
                sm_occupancy,
            )
        )

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop_event.wait(self.interval_s):
                return

    def start(self) -> None:
        """Begin sampling in a daemon thread (no-op when unavailable or running)."""
        if not self.available or self._thread is not None:
            return
        self._samples = []
        self._sampling_s = 0.0
        self._stop_event.clear()
        self._sm = SmActivity(self._nvml, self._handle)
        self._t_start = time.perf_counter()
        self._energy_start_mj = self._energy_mj()
        self._thread = threading.Thread(target=self._run, name="nvml-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """Stop sampling and summarise; ``{"available": False, ...}`` when unavailable.

        Keys: available, device_index, samples, wall_s, util_mean_pct,
        util_max_pct, memory_used_max_bytes, power_mean_w, sm_clock_mean_mhz,
        energy_j, energy_source ("counter" or "power_integral"),
        overhead_fraction, sm_active_mean_pct and sm_occupancy_mean_pct (GPM
        counters; None with sm_activity_note saying why when absent), and
        series: one row per sample in :data:`SERIES_COLUMNS` order, host
        times in seconds, so a caller can cut the telemetry to a window
        (:func:`~dnibench.instrument.timed_window.window_telemetry`). A metric
        the GPU does not report is None.
        """
        if not self.available:
            return self._unavailable()
        if self._thread is None:
            return {"available": True, "device_index": self.device_index, "samples": 0}
        self._stop_event.set()
        self._thread.join()
        self._thread = None
        self._sample()  # a last sample closes the power integral at stop time
        sm_note = self._sm.reason if self._sm is not None else ""
        if self._sm is not None:
            self._sm.close()
            self._sm = None
        t_stop = time.perf_counter()
        energy_end = self._energy_mj()
        wall = t_stop - self._t_start

        def column(i: int) -> list[tuple[float, float]]:
            """(time, value) of field ``i`` over the samples that have it."""
            return [(s[0], v) for s in self._samples if (v := s[i]) is not None]

        util = [v for _, v in column(1)]
        mem = [v for _, v in column(2)]
        power = column(3)
        clock = [v for _, v in column(4)]
        sm_busy = [v for _, v in column(6)]
        sm_occupancy = [v for _, v in column(7)]

        energy_j: float | None = None
        source: str | None = None
        if self._energy_start_mj is not None and energy_end is not None:
            energy_j = (energy_end - self._energy_start_mj) / 1e3
            source = "counter"
        elif len(power) >= 2:
            energy_j = sum(
                (t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in itertools.pairwise(power)
            )
            source = "power_integral"
        return {
            "available": True,
            "device_index": self.device_index,
            "samples": len(self._samples),
            "wall_s": wall,
            "util_mean_pct": sum(util) / len(util) if util else None,
            "util_max_pct": max(util) if util else None,
            "memory_used_max_bytes": max(mem) if mem else None,
            "power_mean_w": sum(p for _, p in power) / len(power) if power else None,
            "sm_clock_mean_mhz": sum(clock) / len(clock) if clock else None,
            "energy_j": energy_j,
            "energy_source": source,
            "overhead_fraction": self._sampling_s / wall if wall > 0 else 0.0,
            "sm_active_mean_pct": _mean(sm_busy),
            "sm_occupancy_mean_pct": _mean(sm_occupancy),
            "sm_activity_note": "" if sm_busy else sm_note or "SM activity: no reading",
            "series": [[s[0], s[1], s[3], s[5], s[6]] for s in self._samples],
        }

    def close(self) -> None:
        """Stop sampling if running and release NVML."""
        if self._thread is not None:
            self.stop()
        self._shutdown()


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
