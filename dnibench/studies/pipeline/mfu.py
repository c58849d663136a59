"""Tokens per second, MFU and HFU against the machine's measured peak, and where the MFU goes.

**MFU** (model FLOP utilisation) is the model's FLOPs per second over the
peak of what the benchmark used: cores used (processes x threads) x the
one-thread matrix-product peak on a CPU, GPUs used x the measured bf16 peak
on a GPU (both measured by :mod:`dnibench.instrument.gemm_probe` and kept in
the run's fingerprint). The all-cores peak is shown beside it: on a CPU the
cores share memory bandwidth and clocks, so all cores together reach less
than cores x one thread. **HFU** adds the FLOPs decoupling computes (SG and
SI modules), so HFU - MFU is what decoupling costs in arithmetic.

**The gap split** explains a pipeline's MFU as a product of factors, each
in (0, 1] when it costs something::

    MFU = kernel x bubble x communication x decoupling x residual

- kernel efficiency: the single process's MFU on the same model (what the
  arithmetic reaches with no pipeline at all);
- bubble: 1 - lock idle (the stages' mean share of the window spent waiting
  for an activation or a gradient);
- communication: of the time not waiting, the share not spent sending
  ((1 - idle - comm) / (1 - idle));
- decoupling: model FLOPs / all FLOPs computed (MFU / HFU at equal kernel
  efficiency): the share of arithmetic that is the model's own;
- residual: what the four do not explain (measured MFU over their
  product): unattributed time, smaller per-microbatch kernels, imbalance.
  Near 1 the split accounts for the gap; far from 1 something unnamed costs.

The factors multiply back to the measured MFU by construction; the residual
is shown, never hidden.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dnibench.instrument.gemm_probe import peak_key
from dnibench.modes import SINGLE
from dnibench.report.section import Section
from dnibench.rundir.config import JsonValue
from dnibench.rundir.reader import RunData, load_run
from dnibench.studies.pipeline.flop_budget import DECOUPLING_FLOPS, MODEL_FLOPS, TOKENS_PER_SAMPLE
from dnibench.studies.pipeline.hardware_limit import SAME_MODEL, benchmark_specs, cores_used


@dataclass(frozen=True)
class Peak:
    """The measured matrix-product peak (FLOP/s) a run's MFU is taken against."""

    one_unit: float
    """One thread on a CPU, one GPU on a GPU."""
    all_cores: float
    cores: int
    device: str
    vendor: float | None = None
    """The datasheet's figure (GPUs only), shown beside the measured one."""


def _number(value: JsonValue) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def peak_of(fingerprint: Mapping[str, JsonValue], dtype: str, on_gpu: bool) -> Peak | None:
    """The fingerprint's measured peak at ``dtype`` in FLOP/s (None when the run did not probe)."""
    if on_gpu:
        rate = _number(fingerprint.get(peak_key("gpu", dtype))) * 1e9
        if math.isnan(rate):
            return None
        vendor = _number(fingerprint.get(peak_key("gpu", dtype, "vendor"))) * 1e9
        return Peak(rate, rate, 1, "gpu", None if math.isnan(vendor) else vendor)
    one = _number(fingerprint.get(peak_key("cpu", dtype, "one_thread"))) * 1e9
    every = _number(fingerprint.get(peak_key("cpu", dtype, "all_cores"))) * 1e9
    cores = _number(fingerprint.get("cores"))
    if math.isnan(one):
        return None
    return Peak(one, every, 1 if math.isnan(cores) else int(cores), "cpu")


@dataclass(frozen=True)
class Utilisation:
    """One benchmark's tokens/s, MFU (against units used, and all cores) and HFU."""

    tokens_per_s: float
    mfu: float
    mfu_all_cores: float
    hfu: float


def utilisation(
    samples_per_s: float,
    tokens_per_sample: float,
    model_flops_per_sample: float,
    decoupling_flops_per_sample: float,
    units_used: float,
    peak: Peak,
) -> Utilisation:
    """MFU = model FLOP/s / (units used x one-unit peak); HFU adds decoupling's FLOPs."""
    model_rate = samples_per_s * model_flops_per_sample
    hardware_rate = samples_per_s * (model_flops_per_sample + decoupling_flops_per_sample)
    denominator = units_used * peak.one_unit
    return Utilisation(
        tokens_per_s=samples_per_s * tokens_per_sample,
        mfu=model_rate / denominator if denominator > 0 else math.nan,
        mfu_all_cores=model_rate / peak.all_cores if peak.all_cores > 0 else math.nan,
        hfu=hardware_rate / denominator if denominator > 0 else math.nan,
    )


@dataclass(frozen=True)
class GapSplit:
    """A pipeline's MFU as kernel x bubble x communication x decoupling x residual."""

    mfu: float
    kernel: float
    bubble: float
    communication: float
    decoupling: float

    @property
    def explained(self) -> float:
        """The product of the four named factors."""
        return self.kernel * self.bubble * self.communication * self.decoupling

    @property
    def residual(self) -> float:
        """Measured MFU over the named factors' product (1: they account for all of it)."""
        return self.mfu / self.explained if self.explained > 0 else math.nan

    def factors(self) -> dict[str, float]:
        """Every factor, the residual included: their product is :attr:`mfu`."""
        return {"kernel": self.kernel, "bubble": self.bubble,
                "communication": self.communication, "decoupling": self.decoupling,
                "residual": self.residual}  # fmt: skip


def gap_split(
    mfu: float,
    single_mfu: float,
    lock_idle: float,
    comm: float,
    model_flops: float,
    decoupling_flops: float,
) -> GapSplit:
    """Split ``mfu`` given the single process's MFU, the stages' mean lock idle and comm shares,
    and the model's and decoupling's FLOPs per sample."""
    waiting = min(max(lock_idle, 0.0), 1.0)
    working = 1.0 - waiting
    sending = min(max(comm, 0.0), working)
    total = model_flops + decoupling_flops
    return GapSplit(
        mfu=mfu,
        kernel=single_mfu,
        bubble=working,
        communication=(working - sending) / working if working > 0 else math.nan,
        decoupling=model_flops / total if total > 0 else math.nan,
    )


@dataclass(frozen=True)
class MfuRow:
    """One benchmark's line of the MFU table."""

    benchmark: str
    mode: str
    microbatches: int
    use: Utilisation
    split: GapSplit | None


def _on_gpu(spec: Mapping[str, JsonValue]) -> bool:
    return spec.get("device") == "cuda" or spec.get("backend") == "nccl"


def _units(run: RunData, bench: str, spec: Mapping[str, JsonValue]) -> float:
    """Cores used on a CPU; GPUs used on a GPU (one per rank over nccl, as placed on streams)."""
    if not _on_gpu(spec):
        return cores_used(run, bench)
    if spec.get("runtime") == "dist":
        rows = run.results[run.results["benchmark"] == bench]
        return float(rows["stages"].max()) if not rows.empty else math.nan
    gpus = run.value(bench, "stream_gpus")
    return 1.0 if math.isnan(gpus) else gpus


def _stage_mean(run: RunData, bench: str, metrics: Sequence[str]) -> float:
    """Mean over stages of the sum of ``metrics`` (each the median over repeats)."""
    stages = run.stages(bench)
    if not stages:
        return math.nan
    total = sum(run.value(bench, metric, stage) for metric in metrics for stage in stages)
    return total / len(stages)


def _single_baseline(
    run: RunData, bench: str, specs: Mapping[str, Mapping[str, JsonValue]]
) -> str | None:
    """The single-process benchmark on the same model and dtype (one thread preferred)."""
    spec = specs.get(bench, {})
    fields = (*SAME_MODEL, "dtype")
    same = [
        name
        for name, other in specs.items()
        if other.get("mode") == SINGLE.name and name != bench
        and all(other.get(k) == spec.get(k) for k in fields)
        and not math.isnan(run.value(name, "throughput"))
    ]  # fmt: skip
    same.sort(key=lambda name: (specs[name].get("threads") != 1, name))
    return same[0] if same else None


def mfu_rows(run: RunData) -> tuple[Peak | None, list[MfuRow]]:
    """The MFU table of a run: every pipeline benchmark whose FLOPs were counted."""
    specs = benchmark_specs(run)
    rows: list[MfuRow] = []
    peak: Peak | None = None
    uses: dict[str, Utilisation] = {}
    for bench in run.pipeline_benchmarks():
        spec = specs.get(bench, {})
        dtype = str(spec.get("dtype") or "fp32")
        bench_peak = peak_of(run.fingerprint, dtype, _on_gpu(spec))
        model = run.value(bench, MODEL_FLOPS)
        if bench_peak is None or math.isnan(model):
            continue
        peak = peak or bench_peak
        uses[bench] = utilisation(
            run.value(bench, "throughput"),
            run.value(bench, TOKENS_PER_SAMPLE),
            model,
            run.value(bench, DECOUPLING_FLOPS),
            _units(run, bench, spec),
            bench_peak,
        )
    for bench, use in uses.items():
        spec = specs.get(bench, {})
        split = None
        base = _single_baseline(run, bench, specs)
        if spec.get("mode") != SINGLE.name and base is not None and base in uses:
            split = gap_split(
                use.mfu,
                uses[base].mfu,
                _stage_mean(run, bench, ("wait_activation_fraction", "wait_gradient_fraction")),
                _stage_mean(run, bench, ("comm_fraction",)),
                run.value(bench, MODEL_FLOPS),
                run.value(bench, DECOUPLING_FLOPS),
            )
        m = _number(spec.get("microbatches"))
        mode = str(spec.get("mode"))
        rows.append(MfuRow(bench, mode, 1 if math.isnan(m) else int(m), use, split))
    return peak, rows


def _f(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _rate(value: float) -> str:
    return "-" if math.isnan(value) else f"{value / 1e9:,.1f} GFLOP/s"


def render_mfu(peak: Peak, rows: Sequence[MfuRow]) -> str:
    """The MFU section's Markdown: the peak, then one line per benchmark with its gap split."""
    unit = "GPU" if peak.device == "gpu" else "thread"
    line = f"Measured peak (best square `torch.matmul`): {_rate(peak.one_unit)} on one {unit}"
    if peak.device == "cpu":
        line += f", {_rate(peak.all_cores)} on all {peak.cores} cores"
    if peak.vendor is not None:
        line += f"; vendor figure {_rate(peak.vendor)}"
    lines = [
        "## Model FLOP utilisation", "",
        line + ".", "",
        "MFU: model FLOP/s over units used x the one-unit peak (beside it: over the all-cores "
        "peak); HFU adds SG/SI FLOPs. Gap split: MFU = kernel x bubble x communication x "
        "decoupling x residual (docs/metrics.md).", "",
        "| benchmark | mode | m | tokens/s | MFU | MFU (all cores) | HFU | kernel | bubble "
        "| comm | decoupling | residual |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for row in rows:
        use, split = row.use, row.split
        factors = ["-"] * 5 if split is None else [_f(v) for v in split.factors().values()]
        lines.append(
            f"| {row.benchmark} | {row.mode} | {row.microbatches} | {_f(use.tokens_per_s, 0)} "
            f"| {_f(use.mfu)} | {_f(use.mfu_all_cores)} | {_f(use.hfu)} | {' | '.join(factors)} |"
        )
    return "\n".join([*lines, ""])


def mfu_section(run_dir: Path) -> Section | None:
    """The MFU section, when the run counted FLOPs and probed the peak (newer runs)."""
    run = load_run(run_dir)
    peak, rows = mfu_rows(run)
    if peak is None or not rows:
        return None
    return Section(render_mfu(peak, rows))


__all__ = [
    "GapSplit", "MfuRow", "Peak", "Utilisation", "gap_split", "mfu_rows", "mfu_section",
    "peak_of", "render_mfu", "utilisation",
]  # fmt: skip
