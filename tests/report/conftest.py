"""Synthetic run directories for the report tests, written by hand in tmp_path.

Real runs take minutes; these take milliseconds and cover the shapes a
report must handle: pipeline rows only, training rows only, both, repeats,
failed benchmarks, hostile benchmark names and a trace per benchmark.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from dnibench.instrument import SpanKind as K
from dnibench.instrument import chrome_trace

RESULT_FIELDS = [
    "benchmark", "mode", "stages", "microbatches", "metric", "stage", "repeat", "value", "unit",
]  # fmt: skip
CURVE_FIELDS = [
    "benchmark", "repeat", "step", "samples", "seconds", "train_loss", "test_loss",
    "test_accuracy",
]  # fmt: skip
PIPELINES = ("gpipe-m8", "dni-m8")
TRAININGS = ("train-backprop", "train-dni")
HOSTILE = "<script>alert(1)</script>"
COMMITTED_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline-run"


def _write_csv(path: Path, fields: list[str], rows: Sequence[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def pipeline_rows(name: str, repeat: int, scale: float) -> list[dict]:
    """The rows dnibench.bench.run writes for one two-stage benchmark, with made-up values."""
    mode = name.split("-")[0] if name != HOSTILE else "dni"
    base = {"benchmark": name, "mode": mode, "stages": 2, "microbatches": 8, "repeat": repeat}
    thr = (2000.0 if mode == "gpipe" else 2800.0) * scale * (1 + 0.02 * repeat)
    rows = [
        ("throughput", -1, thr, "samples/s"),
        ("throughput_iqr", -1, 0.1 * thr, "samples/s"),
        ("throughput_mean", -1, thr, "samples/s"),
        ("ideal_throughput", -1, thr / 0.9, "samples/s"),
        ("pipeline_efficiency", -1, 0.9, "ratio"),
        ("throughput_window_0", -1, thr, "samples/s"),
        ("wall", -1, 5.0, "s"),
    ]
    for stage in (0, 1):
        busy = 0.7 + 0.1 * stage
        rows += [
            ("busy_fraction", stage, busy, "ratio"),
            ("wait_activation_fraction", stage, 0.1 * stage, "ratio"),
            ("wait_gradient_fraction", stage, 0.2 * (1 - stage), "ratio"),
            ("comm_fraction", stage, 0.05, "ratio"),
            ("unattributed_fraction", stage, 0.05, "ratio"),
            ("busy_per_microbatch", stage, 3.0, "ms"),
            ("peak_rss", stage, 450.0 + 10 * stage + repeat, "MiB"),
            ("cpu_utilisation", stage, 0.9, "cores"),
        ]
    return [{**base, "metric": m, "stage": s, "value": v, "unit": u} for m, s, v, u in rows]


def training_rows(name: str, repeat: int, scale: float) -> list[dict]:
    """Rows of dnibench.studies.train.run for one training benchmark."""
    base = {"benchmark": name, "mode": name.split("-")[1], "stages": 3, "microbatches": 1,
            "stage": -1, "repeat": repeat}  # fmt: skip
    reached = not (name == "train-dni" and repeat == 1)
    rows = [
        ("test_accuracy", 0.9 + 0.01 * repeat, "ratio"),
        ("test_loss", 0.3, "nats"),
        ("samples_to_target", 1280.0 if reached else math.nan, "samples"),
        ("seconds_to_target", 0.5 if reached else math.nan, "s"),
        ("throughput", 5000.0 * scale, "samples/s"),
    ]
    return [{**base, "metric": m, "value": v, "unit": u} for m, v, u in rows]


def curve_rows(name: str, repeat: int) -> list[dict]:
    """A saturating learning curve; seeds (repeats) learn at slightly different rates."""
    top = 0.95 if name.endswith("backprop") else 0.9
    rate = 4 + repeat + (2 if name.endswith("dni") else 0)
    return [
        {"benchmark": name, "repeat": repeat, "step": step, "samples": step * 128,
         "seconds": step * 0.05 * (1 + 0.1 * repeat), "train_loss": 2.0 / (1 + step),
         "test_loss": 2.1 / (1 + step), "test_accuracy": top * (1 - math.exp(-step / rate))}
        for step in range(0, 21, 2)
    ]  # fmt: skip


def synthetic_trace(steps: int = 9, microbatches: int = 4) -> dict:
    """A two-stage GPipe-like trace built with the real chrome_trace writer."""
    s0, s1 = [], []
    t = 0
    for _ in range(steps):
        start = t
        for mb in range(microbatches):
            s0.append((K.FORWARD, mb, t, t + 1_000_000))
            s0.append((K.SEND, mb, t + 1_000_000, t + 1_100_000))
            s1.append((K.WAIT_ACTIVATION, -1, t, t + 1_100_000))
            s1.append((K.FORWARD, mb, t + 1_100_000, t + 2_000_000))
            t += 1_100_000
        s0.append((K.WAIT_GRADIENT, -1, t, t + 2_000_000))
        s1.append((K.BACKWARD, 0, t, t + 2_000_000))
        t += 2_000_000
        s0.append((K.BACKWARD, 0, t, t + 1_500_000))
        t += 1_500_000
        s0.append((K.STEP, -1, start, t))
        s1.append((K.STEP, -1, start, t))
    return chrome_trace([np.array(s0, dtype=np.int64), np.array(s1, dtype=np.int64)])


def write_run(
    root: Path,
    *,
    pipelines: Sequence[str] = PIPELINES,
    trainings: Sequence[str] = TRAININGS,
    repeats: int = 2,
    scale: float = 1.0,
    gpu: bool = False,
    failed: bool = True,
    traces: bool = True,
) -> Path:
    """Write a complete run directory under ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    results, curves, status = [], [], []
    for repeat in range(repeats):
        for name in pipelines:
            results += pipeline_rows(name, repeat, scale)
            status.append({"benchmark": name, "status": "ok", "seconds": 5, "message": ""})
        for name in trainings:
            results += training_rows(name, repeat, scale)
            curves += curve_rows(name, repeat)
            status.append({"benchmark": name, "status": "ok", "seconds": 3, "message": ""})
    if failed:
        status.append({"benchmark": "torch-gpipe-m1", "status": "skipped", "seconds": 0,
                       "message": "needs m >= stages <b>bold</b> | pipe"})  # fmt: skip
    _write_csv(root / "results.csv", RESULT_FIELDS, results)
    _write_csv(root / "status.csv", ["benchmark", "status", "seconds", "message"], status)
    if curves:
        _write_csv(root / "curves.csv", CURVE_FIELDS, curves)
    finger = {"cpu": "Test CPU <fast>", "cores": 4, "torch": "2.13.0+cpu", "backend": "gloo",
              "world_size": 2, "gpu": "NVIDIA H100" if gpu else None}  # fmt: skip
    (root / "fingerprint.json").write_text(json.dumps(finger, indent=2))
    (root / "config.json").write_text(json.dumps([{"name": n, "warmup": 2} for n in pipelines]))
    if traces and pipelines:
        (root / "traces").mkdir(exist_ok=True)
        doc = json.dumps(synthetic_trace())
        for name in pipelines:
            if "/" not in name and "<" not in name:
                (root / "traces" / f"{name}-r0.json").write_text(doc)
    return root


@pytest.fixture(scope="session")
def run_writer() -> Callable[..., Path]:
    """:func:`write_run` itself, for module-scoped fixtures that build a run once."""
    return write_run


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., Path]:
    """``make_run(name, **options)``: a synthetic run directory ``tmp_path/name``."""

    def make(name: str = "run", **options: object) -> Path:
        return write_run(tmp_path / name, **options)  # type: ignore[arg-type]

    return make


def is_png(path: Path, min_bytes: int = 5_000) -> bool:
    """A real, non-trivial PNG: signature, IHDR chunk, plausible size and dimensions."""
    data = path.read_bytes()
    if len(data) < min_bytes or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return False
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return width >= 200 and height >= 150


@pytest.fixture
def png_ok() -> Callable[[Path], bool]:
    """The :func:`is_png` check, as a fixture so test modules need not import conftest."""
    return is_png


@pytest.fixture
def committed_run() -> Path:
    """The committed real CPU run (read only: tests copy what they need)."""
    if not (COMMITTED_RUN / "results.csv").is_file():
        pytest.skip(f"the committed run {COMMITTED_RUN} is not in this checkout")
    return COMMITTED_RUN
