"""What a GPU check ran on, printed and saved before the suite starts.

``python tools/gpu_facts.py --out RUN/gpu_facts.json`` prints the GPU, its
driver, the Python, torch, CUDA and cuDNN versions, the SM clock, the temperature and the
floating-point precision the suite's matrix products use, then measures idle
power for ``--idle-s`` seconds with the same NVML sampler the benchmarks use
(the GPU quiescent: nothing else of this process runs). The report's energy
table puts that idle power beside the joules per sample. ``--tag`` prints
only the machine tag for run-directory names (``h200``, ``h100``, ``gpu`` or
``cpu``). Nothing here fails a check: what cannot be read is recorded as
missing, with the reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch


def machine_tag(gpu_name: str | None) -> str:
    """``h200`` / ``h100`` / ``a100`` ... from the GPU's name; ``gpu`` or ``cpu`` otherwise."""
    if not gpu_name:
        return "cpu"
    found = re.search(r"\b([A-Z]\d{2,3})\b", gpu_name.upper())
    return found.group(1).lower() if found else "gpu"


def precision() -> str:
    """The precision of the suite's fp32 matrix products, in words."""
    tf32 = torch.backends.cuda.matmul.allow_tf32
    mode = torch.get_float32_matmul_precision()
    return f"float32 (matmul precision {mode!r}, TF32 {'on' if tf32 else 'off'})"


def _nvml_facts() -> dict[str, Any]:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:  # no pynvml, no driver
        return {"nvml_note": f"NVML unavailable: {type(exc).__name__} ({exc})"}
    facts: dict[str, Any] = {}
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        reads = {
            "driver": lambda: pynvml.nvmlSystemGetDriverVersion(),
            "driver_cuda": lambda: pynvml.nvmlSystemGetCudaDriverVersion(),
            "sm_clock_mhz": lambda: pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM),
            "sm_clock_max_mhz": lambda: pynvml.nvmlDeviceGetMaxClockInfo(
                handle, pynvml.NVML_CLOCK_SM
            ),
            "temperature_c": lambda: pynvml.nvmlDeviceGetTemperature(
                handle, pynvml.NVML_TEMPERATURE_GPU
            ),
            "power_limit_w": lambda: pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1e3,
        }
        for key, read in reads.items():
            try:
                value = read()
                facts[key] = value.decode() if isinstance(value, bytes) else value
            except Exception as exc:
                facts[f"{key}_note"] = f"{type(exc).__name__} ({exc})"
    except Exception as exc:
        facts["nvml_note"] = f"NVML device 0 unreadable: {type(exc).__name__} ({exc})"
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            facts.setdefault("nvml_note", "nvmlShutdown failed")
    return facts


def idle_power(seconds: float) -> dict[str, Any]:
    """Mean power and energy over ``seconds`` of doing nothing, from the benchmarks' sampler."""
    from dnibench.instrument import NvmlSampler

    sampler = NvmlSampler(0, interval_s=0.1)
    if not sampler.available:
        return {"idle_power_w": None, "idle_note": sampler.reason}
    sampler.start()
    time.sleep(seconds)
    summary = sampler.stop()
    sampler.close()
    power = None
    if summary.get("energy_j") is not None and summary.get("wall_s"):
        power = summary["energy_j"] / summary["wall_s"]
    elif summary.get("power_mean_w") is not None:
        power = summary["power_mean_w"]
    return {
        "idle_power_w": power,
        "idle_seconds": summary.get("wall_s"),
        "idle_energy_source": summary.get("energy_source"),
        "idle_sm_clock_mhz": summary.get("sm_clock_mean_mhz"),
    }


def gather(idle_s: float) -> dict[str, Any]:
    """Every fact, idle power last (so the clock and temperature are read before it)."""
    cuda = torch.cuda.is_available()
    facts: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "precision": precision(),
        # cuDNN's own TF32 switch (torch's default: on) governs the rnn group's LSTM kernels.
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
    }
    facts["machine_tag"] = machine_tag(facts["gpu"])
    if not cuda:
        facts["gpu_note"] = "no CUDA GPU visible: the streams benchmarks run on the CPU stand-in"
        return facts
    facts.update(_nvml_facts())
    facts.update(idle_power(idle_s))
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the facts here as JSON")
    parser.add_argument("--idle-s", type=float, default=3.0, help="seconds of idle power (3)")
    parser.add_argument("--tag", action="store_true", help="print only the machine tag")
    args = parser.parse_args(argv)
    if args.tag:
        print(machine_tag(torch.cuda.get_device_name(0) if torch.cuda.is_available() else None))
        return 0
    facts = gather(args.idle_s)
    for key, value in facts.items():
        print(f"{key:>18}: {value}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(facts, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
