"""Export a run directory in pytest-benchmark's own storage format.

Teams already keep pytest-benchmark histories, dashboards and
``pytest-benchmark compare`` habits; one JSON file per run lets them read
dnibench runs with those tools unchanged. The layout follows what
pytest-benchmark 5 itself writes (``pytest_benchmark_generate_json`` and
``Metadata.as_dict``): top-level ``machine_info``, ``commit_info``,
``benchmarks``, ``datetime``, ``version``; per benchmark ``group``, ``name``,
``fullname``, ``params``, ``param``, ``extra_info``, ``options`` and
``stats``.

pytest-benchmark times a call; dnibench measures samples per second over
1-step windows. The timed quantity here is therefore *seconds per training
step*, ``samples_per_step / window_throughput`` for every window of every
repeat, so ``min``/``median``/``ops`` mean what pytest-benchmark users expect
(ops = training steps per second).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from pytest_benchmark.stats import Stats

from dnibench.gate.runs import (
    PIPELINE,
    benchmark_names,
    load_results,
    pooled,
    repeat_values,
    window_samples,
)
from dnibench.rundir import writer
from dnibench.rundir.layout import CONFIG, PYTEST_BENCHMARK
from dnibench.rundir.reader import Spec, read_config, read_fingerprint, results_mtime

FILE_NAME = PYTEST_BENCHMARK
FALLBACK_SAMPLES_PER_STEP = 1.0


def write_pytest_benchmark_json(run_dir: Path, out: Path | None = None) -> Path:
    """Write ``run_dir`` as pytest-benchmark JSON (default ``RUN_DIR/pytest-benchmark.json``).

    One entry per benchmark of the run, in run order (none when no benchmark
    has a positive throughput: every one failed; ``dnibench.note`` says so,
    and the report is still written). Returns the path written. Read it
    with ``pytest-benchmark compare PATH``.
    """
    run_dir = Path(run_dir)
    frame = load_results(run_dir)
    batch, config_note = samples_per_step(run_dir)
    specs = _config_specs(run_dir)
    fp = read_fingerprint(run_dir)
    benchmarks = []
    skipped = []
    for name in benchmark_names(frame):
        entry = _benchmark_entry(frame, name, batch.get(name), config_note, specs.get(name, Spec()))
        if entry is None:
            skipped.append(name)
        else:
            benchmarks.append(entry)
    dnibench_note: dict[str, object] = {"run_dir": str(run_dir), "skipped": skipped}
    if not benchmarks:  # every benchmark failed, say: the report still needs its export
        dnibench_note["note"] = "no benchmark has a positive throughput: nothing to convert"
    document = {
        "machine_info": machine_info(fp),
        "commit_info": commit_info(fp),
        "benchmarks": benchmarks,
        # When the run wrote its last result: what pytest-benchmark's own
        # timestamp (the end of the session) means.
        "datetime": datetime.fromtimestamp(results_mtime(run_dir), UTC).isoformat(),
        "version": _pytest_benchmark_version(),
        "dnibench": dnibench_note,
    }
    out = run_dir / FILE_NAME if out is None else Path(out)
    writer.write_text(out, json.dumps(document, indent=4, allow_nan=False) + "\n")
    return out


def samples_per_step(run_dir: Path) -> tuple[dict[str, float], str]:
    """Benchmark name -> batch size from the run's config, and a note when that failed.

    The note is empty when the file was read; otherwise it says why the
    fallback of 1.0 applies, and ends up in each entry's ``extra_info``.
    """
    specs = _config_specs(run_dir)
    if not specs:
        return {}, f"no usable benchmark list in {Path(run_dir) / CONFIG}"
    sizes = {}
    for name, spec in specs.items():
        size = spec.get("batch_size")
        if isinstance(size, int | float) and not isinstance(size, bool) and size > 0:
            sizes[name] = float(size)
    return sizes, ""


def _config_specs(run_dir: Path) -> dict[str, Spec]:
    """Benchmark name -> its spec, from any shape the run's config has taken (the reader's)."""
    return read_config(run_dir).specs()


def machine_info(fp: Mapping[str, object]) -> dict[str, object]:
    """pytest-benchmark's ``machine_info`` keys, filled from a dnibench fingerprint.

    The fingerprint records less than ``platform`` would (no node name, no
    compiler), so those keys say ``unknown``; dnibench's own keys (torch,
    backend, GPU) are added, as pytest-benchmark's update hook allows.
    """
    machine = str(fp.get("machine") or "unknown")
    system, release = _system_release(str(fp.get("os") or ""), machine)
    python = str(fp.get("python") or "unknown")
    info: dict[str, object] = {
        "node": str(fp.get("node") or "unknown"),
        "processor": str(fp.get("cpu") or "unknown"),
        "machine": machine,
        "python_compiler": "unknown",
        # torch ships for CPython only, so a dnibench run is a CPython run.
        "python_implementation": str(fp.get("python_implementation") or "CPython"),
        "python_implementation_version": python,
        "python_version": python,
        "python_build": ["unknown", "unknown"],
        "release": release,
        "system": system,
        "cpu": {
            "brand_raw": str(fp.get("cpu") or "unknown"),
            "count": fp.get("cores"),
            "arch_string_raw": machine,
        },
    }
    for key in ("torch", "dnibench", "backend", "world_size", "gpu", "gpu_note", "os"):
        if key in fp:
            info[key] = fp[key]
    return info


def _system_release(os_string: str, machine: str) -> tuple[str, str]:
    """Split ``platform.platform()`` output ("Linux-6.1.0-x86_64-with-glibc2.36")."""
    if not os_string:
        return "unknown", "unknown"
    system, _, rest = os_string.partition("-")
    release = rest.split(f"-{machine}")[0] if machine != "unknown" else rest
    return system or "unknown", release or "unknown"


def commit_info(fp: Mapping[str, object]) -> dict[str, object]:
    """pytest-benchmark's ``commit_info`` from the commit the fingerprint recorded."""
    return {
        "id": fp.get("git_commit") or "unknown",
        "time": None,
        "author_time": None,
        "dirty": bool(fp.get("git_dirty")),
        "project": "dnibench",
        "branch": "(unknown)",
    }


def _benchmark_entry(
    frame: pd.DataFrame,
    name: str,
    batch: float | None,
    config_note: str,
    spec: Spec,
) -> dict[str, object] | None:
    windows, are_windows = window_samples(frame, name)
    throughputs = pooled(windows)
    throughputs = throughputs[np.isfinite(throughputs) & (throughputs > 0)]
    if throughputs.size == 0:
        return None
    if batch is None:
        step, source = (
            FALLBACK_SAMPLES_PER_STEP,
            (
                f"fallback {FALLBACK_SAMPLES_PER_STEP}: "
                f"{config_note or f'{name} has no positive batch_size in {CONFIG}'}; "
                "times are seconds per sample, not per step"
            ),
        )
    else:
        step, source = batch, f"{CONFIG} batch_size"
    data = [float(step / value) for value in throughputs]
    first = frame[frame["benchmark"] == name].iloc[0]
    mode, stages = str(first["mode"]), int(first["stages"])
    microbatches = int(first["microbatches"])
    warmup = spec.get("warmup")
    return {
        "group": None,
        "name": name,
        "fullname": f"dnibench::{name}",
        "params": {"mode": mode, "stages": stages, "microbatches": microbatches},
        "param": f"{mode}-k{stages}-m{microbatches}",
        "extra_info": {
            "throughput_median": _finite(_median_over_repeats(frame, name, "throughput")),
            "throughput_unit": "samples/s",
            "pipeline_efficiency": _finite(
                _median_over_repeats(frame, name, "pipeline_efficiency")
            ),
            "mode": mode,
            "stages": stages,
            "microbatches": microbatches,
            "repeats": len(windows),
            "samples_per_step": step,
            "samples_per_step_source": source,
            "timed": (
                "seconds per training step = samples_per_step / throughput of each 1-step "
                "window after warm-up, all repeats"
                if are_windows
                else "seconds per training step from each repeat's median throughput "
                "(the run recorded no windows)"
            ),
        },
        "options": {
            "disable_gc": False,
            "timer": "perf_counter_ns",
            "min_rounds": len(data),
            "max_time": None,
            "min_time": None,
            "warmup": bool(warmup),
            "warmup_iterations": int(warmup) if isinstance(warmup, int) else 0,
        },
        "stats": {**step_stats(data), "data": data, "iterations": 1},
    }


def _median_over_repeats(frame: pd.DataFrame, name: str, metric: str) -> float:
    values = pooled(repeat_values(frame, name, metric, PIPELINE))
    return float(np.median(values)) if values.size else math.nan


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def step_stats(data: Sequence[float]) -> dict[str, object]:
    """pytest-benchmark's summary fields of ``data``, computed by pytest-benchmark itself.

    Its ``Stats`` class is what ``pytest-benchmark compare`` and its storage
    use (Tukey-hinge quartiles, outlier counts, ``ops``), so feeding it the
    timings in recorded order gives the numbers its users would see for them.
    """
    if not data:
        raise ValueError("no data points")
    stats = Stats()
    for value in data:
        stats.update(value)
    return dict(stats.as_dict())


def _pytest_benchmark_version() -> str:
    try:
        return metadata.version("pytest-benchmark")
    except metadata.PackageNotFoundError:
        return "5.0.0"
