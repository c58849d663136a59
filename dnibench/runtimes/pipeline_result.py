"""What a pipeline benchmark measured, whichever runtime ran it.

Spans from every stage are put on stage 0's clock, summarised by
:func:`~dnibench.instrument.pipeline_metrics`, and flattened into tidy rows
(benchmark, metric, stage, value, unit: the columns of
:data:`dnibench.rundir.layout.RESULT_COLUMNS`) that results files and
reports share. Both runtimes return a :class:`BenchResult` (streams adds its
placement rows), so nothing downstream knows which runtime made a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dnibench.instrument import PipelineMetrics, SpanKind, chrome_trace, pipeline_metrics
from dnibench.instrument.timed_window import measured_window_ns, window_metrics
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec

T0, T1 = 2, 3  # span columns: kind, microbatch, t0, t1

#: What an asynchronous stage reports of itself (docs/async.md): its stash, counted from the
#: version store (peak RSS hides a few MiB), against its own parameter bytes; DGL's head FLOPs.
STAGE_LOG_METRICS = {
    "stash_bytes_peak": ("stash_bytes", "bytes"),
    "versions_held_peak": ("weight_versions_held", "versions"),
    "parameter_bytes": ("parameter_bytes", "bytes"),
    "aux_head_flops": ("aux_head_flops", "FLOP/sample"),
}


@dataclass
class BenchResult:
    """A finished benchmark: its spec, per-rank results and derived metrics."""

    spec: BenchSpec
    ranks: list[RankResult]
    metrics: PipelineMetrics
    wall_s: float

    def aligned_spans(self) -> list[np.ndarray]:
        return align_spans(self.ranks)

    def trace(self) -> dict[str, object]:
        labels = [f"stage {r.rank}" for r in self.ranks]
        return chrome_trace(self.aligned_spans(), labels=labels)

    def rows(self, repeat: int = 0) -> list[dict[str, object]]:
        """Tidy long-form rows: one per metric and stage (stage -1: the whole pipeline)."""
        m = self.metrics
        spec = self.spec
        rows: list[dict[str, object]] = []

        def add(metric: str, value: float, unit: str, stage: int = -1) -> None:
            rows.append(
                {
                    "benchmark": spec.name,
                    "mode": spec.mode,
                    "stages": spec.world_size,
                    "microbatches": spec.microbatches,
                    "metric": metric,
                    "stage": stage,
                    "repeat": repeat,
                    "value": float(value),
                    "unit": unit,
                }
            )

        add("throughput", m.throughput, "samples/s")
        add("throughput_iqr", m.throughput_iqr, "samples/s")
        add("throughput_mean", m.throughput_mean, "samples/s")
        add("ideal_throughput", m.ideal_throughput, "samples/s")
        add("pipeline_efficiency", m.efficiency, "ratio")
        for index, value in enumerate(m.throughput_windows):
            add(f"throughput_window_{index}", value, "samples/s")
        for stage in m.stages:
            add("busy_fraction", stage.busy_fraction, "ratio", stage.stage)
            add("wait_activation_fraction", stage.wait_activation_fraction, "ratio", stage.stage)
            add("wait_gradient_fraction", stage.wait_gradient_fraction, "ratio", stage.stage)
            add("comm_fraction", stage.comm_fraction, "ratio", stage.stage)
            other = 1 - stage.busy_fraction - stage.comm_fraction
            other -= stage.wait_activation_fraction + stage.wait_gradient_fraction
            add("unattributed_fraction", max(0.0, other), "ratio", stage.stage)
            add("busy_per_microbatch", stage.busy_per_microbatch_s * 1e3, "ms", stage.stage)
        for rank in self.ranks:
            recorded = int((rank.spans[:, 0] != int(SpanKind.STEP)).sum()) if len(rank.spans) else 0
            add("spans_per_step", recorded / spec.steps, "spans", rank.rank)
            add("peak_rss", rank.peak_rss_bytes / 2**20, "MiB", rank.rank)
            add(
                "cpu_utilisation",
                rank.cpu_s / rank.wall_s if rank.wall_s else math.nan,
                "cores",
                rank.rank,
            )
            losses = rank.log.get("losses") or []
            if losses:
                add("final_loss", float(np.mean(losses[-spec.microbatches :])), "nats", rank.rank)
            cosines = rank.log.get("sg_cosine") or []
            if cosines:
                add("sg_cosine", float(np.mean(cosines[len(cosines) // 2 :])), "ratio", rank.rank)
            for key, (metric, unit) in STAGE_LOG_METRICS.items():  # asynchronous stages
                if rank.log.get(key):
                    add(metric, rank.log[key][0], unit, rank.rank)
        measured = [rank for rank in self.ranks if (rank.nvml or {}).get("available")]
        window = measured_window_ns(self.aligned_spans(), spec.warmup) if measured else (0, 0)
        for rank in measured:
            nvml = rank.nvml or {}
            # Energy, power and utilisation over the timed window alone (warm-up excluded).
            for metric, value, unit in window_metrics(nvml, window, m.samples, rank.offset_ns):
                add(metric, value, unit, rank.rank)
            for key, metric, unit in (
                ("util_mean_pct", "gpu_utilisation", "%"),
                ("memory_used_max_bytes", "gpu_memory_peak", "bytes"),
                ("power_mean_w", "gpu_power", "W"),
                ("sm_clock_mean_mhz", "gpu_sm_clock", "MHz"),
                ("sm_active_mean_pct", "gpu_sm_active", "%"),
                ("energy_j", "gpu_energy", "J"),
                ("overhead_fraction", "nvml_overhead", "ratio"),
            ):
                if nvml.get(key) is not None:
                    add(metric, float(nvml[key]), unit, rank.rank)
            if nvml.get("energy_j") is not None:  # sampled over every step, warm-up included
                per_sample = float(nvml["energy_j"]) / (spec.steps * spec.batch_size)
                add("gpu_energy_per_sample", per_sample, "J/sample", rank.rank)
        add("wall", self.wall_s, "s")
        return rows

    def nvml_note(self) -> str:
        """Why no GPU telemetry was recorded ('' when it was)."""
        reasons = {
            r.nvml.get("reason", "") for r in self.ranks if not (r.nvml or {}).get("available")
        }
        return "; ".join(sorted(reason for reason in reasons if reason))


def align_spans(ranks: list[RankResult]) -> list[np.ndarray]:
    """Each rank's spans shifted onto rank 0's clock."""
    aligned = []
    for rank in sorted(ranks, key=lambda r: r.rank):
        spans = rank.spans.copy()
        spans[:, T0] += rank.offset_ns
        spans[:, T1] += rank.offset_ns
        aligned.append(spans)
    return aligned


def summarise(spec: BenchSpec, ranks: list[RankResult], wall_s: float) -> BenchResult:
    """Metrics of a finished run."""
    ranks = sorted(ranks, key=lambda r: r.rank)
    metrics = pipeline_metrics(align_spans(ranks), spec.batch_size, spec.warmup)
    return BenchResult(spec=spec, ranks=ranks, metrics=metrics, wall_s=wall_s)


__all__ = ["STAGE_LOG_METRICS", "BenchResult", "align_spans", "summarise"]
