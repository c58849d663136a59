"""The machine fingerprint stored with every run, so results can be compared fairly."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import torch

import dnibench
from dnibench.instrument.gemm_probe import machine_peaks


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


NOT_A_CHECKOUT = "not a checkout"


def _git(folder: Path, *args: str) -> str | None:
    """``git ARGS`` in ``folder``, read-only: no optional locks, no search above ``folder``."""
    env = {
        **os.environ,
        "GIT_CEILING_DIRECTORIES": str(folder.parent),
        "GIT_OPTIONAL_LOCKS": "0",
    }
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):  # only this folder's own .git
        env.pop(name, None)
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=folder,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(root: Path | None = None) -> dict[str, str | bool | None]:
    """Commit and dirty flag of dnibench's own checkout, else why there are none.

    ``root`` is the folder holding the ``dnibench`` package (default: this one's). Only a
    folder that is itself the top of a git work tree counts: dnibench installed or copied
    inside another repository must not record that repository's commit. Nothing in the
    repository is written (``--no-optional-locks``: ``status`` does not refresh the index).
    """
    root = (Path(dnibench.__file__).resolve().parent.parent if root is None else root).resolve()
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:
        why = "git unavailable" if shutil.which("git") is None else NOT_A_CHECKOUT
        return {"git_commit": None, "git_dirty": None, "git_note": why}
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "git_note": None if commit is not None else "a checkout with no commit",
    }


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


def fingerprint(
    backend: str = "gloo", world_size: int | None = None, dtypes: Sequence[str] = ()
) -> dict[str, object]:
    """CPU, cores, GPU, driver, CUDA, torch, backend, world size, git commit and dirty flag.

    ``dtypes``: the precisions the run computes in; each is recorded with the
    machine's measured matrix-product peak at it (:mod:`dnibench.instrument.gemm_probe`,
    the denominator of MFU), and the vendor's figure on a known GPU.
    """
    measured: dict[str, object] = {}
    if dtypes:
        measured = {"dtypes": list(dict.fromkeys(dtypes)), **machine_peaks(dtypes)}
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
        **git_info(),
        **_gpu(),
        **measured,
    }
