"""One ttq launch: train the pipeline with snapshots, evaluate them, and record curve and rows.

Repeat r trains seed ``seed + r``. The launch is an ordinary pipeline run
(its throughput and span rows are recorded as the pipeline kind records
them) with ``eval_every`` on; the evaluation happens afterwards, in this
process (:mod:`dnibench.runtimes.snapshot_eval`). Besides the curve it
records what the report needs per seed: the time to target on every clock,
the best metric, and the toy-size check, per-stage compute per microbatch
against the measured per-message overhead (half the ping-pong round trip
of the ranks' clock alignment, or the median send span if larger: the median, so that
sends stalled by a busy machine do not pass for the cost of a message).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnibench.instrument import SpanKind
from dnibench.runtimes.pipeline_result import BenchResult
from dnibench.runtimes.snapshot_eval import EvalPoint, evaluate_snapshots
from dnibench.runtimes.spec import BenchSpec
from dnibench.studies.ttq.keys import TTQConfig
from dnibench.studies.ttq.lm import language_model_values
from dnibench.studies.ttq.reach import reach

STREAMS_NOTE = "the streams CPU stand-in checks correctness only: no wall-clock figures"


@dataclass
class TTQResult:
    """A finished ttq launch: the pipeline's result, the evaluated curve, the seed."""

    bench: BenchResult
    curve: list[EvalPoint]
    seed: int

    @property
    def best(self) -> float:
        return max((p.test_accuracy for p in self.curve), default=math.nan)


def seeded_spec(spec: BenchSpec, repeat: int) -> BenchSpec:
    return spec.with_(seed=spec.seed + repeat)


def run_ttq(spec: BenchSpec, repeat: int, deadline_s: float | None, held_out: int = 0) -> TTQResult:
    """Train and evaluate repeat ``repeat`` of ``spec`` (on ``held_out`` test examples, 0: all)."""
    from dnibench.bench.run import run_benchmark

    seeded = seeded_spec(spec, repeat)
    result = run_benchmark(seeded, deadline_s=deadline_s)
    return TTQResult(result, evaluate_snapshots(seeded, result.ranks, held_out), seeded.seed)


def wall_clock_valid(spec: BenchSpec) -> bool:
    """Whether the run's wall clocks mean anything (not on the streams CPU stand-in)."""
    return not (spec.runtime == "streams" and spec.device == "cpu")


def message_overhead_s(result: BenchResult) -> float:
    """Measured per-message overhead: half the clock ping-pong's round trip, or the median send
    span, whichever is larger (NaN on one rank)."""
    halves = [r.rtt_ns / 2e9 for r in result.ranks if r.rtt_ns > 0]
    sends = []
    for spans in result.aligned_spans():
        rows = spans[spans[:, 0] == int(SpanKind.SEND)] if len(spans) else spans
        if len(rows):
            sends.append(float(np.median(rows[:, 3] - rows[:, 2])) / 1e9)
    found = halves + sends
    return max(found) if found else math.nan


def compute_per_microbatch_s(result: BenchResult) -> float:
    """The smallest stage's compute per microbatch (the toy-size rule's numerator)."""
    values = [s.busy_per_microbatch_s for s in result.metrics.stages]
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return min(finite) if finite else math.nan


def curve_rows(name: str, result: TTQResult, repeat: int) -> list[dict[str, object]]:
    """curves.csv rows: ``seconds`` is CPU seconds (as the train kind's), clocks beside it."""
    valid = wall_clock_valid(result.bench.spec)
    rows = []
    for p in result.curve:
        rows.append(
            {
                "benchmark": name,
                "repeat": repeat,
                "step": p.step,
                "samples": p.samples,
                "seconds": p.cpu_s,
                "train_loss": p.train_loss,
                "test_loss": p.test_loss,
                "test_accuracy": p.test_accuracy,
                "wall_seconds": p.wall_s if valid else math.nan,
                "wall_seconds_with_eval": p.wall_with_eval_s if valid else math.nan,
                "cpu_seconds": p.cpu_s,
            }
        )
    return rows


def ttq_rows(config: TTQConfig, result: TTQResult, repeat: int) -> list[dict[str, object]]:
    """results.csv rows: the pipeline's own, then the ttq figures of this seed."""
    spec = result.bench.spec
    rows = result.bench.rows(repeat)
    base = {
        "benchmark": spec.name,
        "mode": spec.mode,
        "stages": spec.world_size,
        "microbatches": spec.microbatches,
        "stage": -1,
        "repeat": repeat,
    }
    curve = pd.DataFrame(curve_rows(spec.name, result, repeat))
    target = config.target
    got = reach(curve, target) if target is not None and not curve.empty else None
    compute, message = compute_per_microbatch_s(result.bench), message_overhead_s(result.bench)
    values = [
        ("seed", float(result.seed), "seed"),
        ("best_test_accuracy", result.best, "ratio"),
        ("final_test_accuracy", result.curve[-1].test_accuracy if result.curve else math.nan,
         "ratio"),
        ("eval_seconds", sum(p.eval_s for p in result.curve), "s"),
        ("snapshot_copy_seconds", sum(p.copy_s for p in result.curve), "s"),
        ("compute_per_microbatch", compute * 1e3, "ms"),
        ("message_overhead", message * 1e3, "ms"),
        ("compute_to_message", compute / message if message > 0 else math.nan, "ratio"),
        *language_model_values(spec, result.curve),
    ]  # fmt: skip
    if target is not None:
        values.append(("target", target, "ratio"))
    if got is not None:
        values += [
            ("samples_to_target", got.samples, "samples"),
            ("wall_seconds_to_target", got.wall_seconds, "s"),
            ("wall_seconds_with_eval_to_target", got.wall_seconds_with_eval, "s"),
            ("cpu_seconds_to_target", got.cpu_seconds, "s"),
        ]
        per_sample = [r for r in rows if r["metric"] == "gpu_energy_per_sample"]
        if per_sample and got.reached:
            energy = sum(float(str(r["value"])) for r in per_sample) * got.samples
            values.append(("energy_to_target", energy, "J"))
    # results.csv holds finite numbers only: a never-reached target is NaN there (the curve
    # says it never arrived; the report reads +inf from the curve).
    return rows + [
        {**base, "metric": m, "value": float(v) if math.isfinite(v) else math.nan, "unit": u}
        for m, v, u in values
    ]


__all__ = [
    "STREAMS_NOTE", "TTQResult", "compute_per_microbatch_s", "curve_rows", "message_overhead_s",
    "run_ttq", "seeded_spec", "ttq_rows", "wall_clock_valid",
]  # fmt: skip
