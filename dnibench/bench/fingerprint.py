"""The machine fingerprint stored with every run, so results can be compared fairly."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

import dnibench


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(dnibench.__file__).parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _gpu() -> dict[str, object]:
    if not torch.cuda.is_available():
        return {"gpu": None, "gpu_note": "no CUDA device"}
    info: dict[str, object] = {
        "gpu": torch.cuda.get_device_name(0),
        "gpu_count": torch.cuda.device_count(),
        "cuda": torch.version.cuda,
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        info["driver"] = pynvml.nvmlSystemGetDriverVersion()
        pynvml.nvmlShutdown()
    except Exception as err:  # NVML missing or failing: say so, go on
        info["driver"] = None
        info["driver_note"] = f"NVML unavailable: {err}"
    return info


def fingerprint(backend: str = "gloo", world_size: int | None = None) -> dict[str, object]:
    """CPU, cores, GPU, driver, CUDA, torch, backend, world size, git commit and dirty flag."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "dnibench": dnibench.__version__,
        "backend": backend,
        "world_size": world_size,
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "git_note": None if commit is not None else "git unavailable or not a checkout",
        **_gpu(),
    }
