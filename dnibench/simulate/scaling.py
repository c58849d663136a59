"""From a measured 2-stage run to K stages: a model's costs, re-split, and sweeps over K and m.

A measured run gives per-stage costs of one split. :class:`ModelCosts` holds
the whole model's compute per microbatch (forward, backward and optimiser
summed over the measured stages) and the costs that belong to a stage
boundary or to a worker rather than to the layers (SG and SI modules,
sends, per-action overhead, the link). For K stages:

- ``weak`` scaling (default): each stage keeps the measured per-stage
  compute, as when a model of K such stages is pipelined; the balance of a
  stage's compute against its SG, sends and overhead stays the measured one;
- ``strong`` scaling: the measured model split evenly, each stage doing 1/K
  of its compute while SG/SI/send/overhead costs stay per stage. For a small
  measured model this turns communication-bound within a few doublings of K,
  which says more about the model's size than about the schedules.

The microbatch size stays the measured one, so m microbatches make a batch of
m times that. The SG's relative cost (its regression per microbatch over one
measured stage's forward and backward) is a knob of the overtake map.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dnibench.errors import UserError
from dnibench.modes import DNI, GPIPE, ONE_F_ONE_B, UNLOCK, ZB, get_mode, is_unlocked
from dnibench.simulate.calibrate import Calibration
from dnibench.simulate.costs import LinkModel, PipelineCosts, StageCosts
from dnibench.simulate.engine import SimConfig, simulate
from dnibench.simulate.predict import Prediction, predict
from dnibench.simulate.validate import RunCalibrations, load_specs

__all__ = [
    "SCALINGS",
    "ModelCosts",
    "SweepPoint",
    "SweepSettings",
    "first_below",
    "model_costs_from_run",
    "not_applicable",
    "overtake",
    "sg_cost_matters",
    "simulate_point",
    "sweep",
]

SCALINGS = ("strong", "weak")


@dataclass(frozen=True)
class ModelCosts:
    """A model's costs per microbatch, independent of how it is split (seconds)."""

    forward: float
    backward: float
    optimizer: float
    sg_update: float
    si_forward: float
    si_update: float
    send: float
    overhead: float
    link: LinkModel
    calibrated_stages: int
    microbatch_size: int
    sees_arrivals: bool
    source: str
    #: The halves of a split (zero-bubble) backward, summed over the measured stages,
    #: from the run's zb benchmark; None: no zb run, each half taken as half the backward.
    backward_input: float | None = None
    backward_weight: float | None = None

    @property
    def stage_compute(self) -> float:
        """Forward + backward of one measured stage (the model's over the calibrated split)."""
        return (self.forward + self.backward) / self.calibrated_stages

    @property
    def sg_relative(self) -> float:
        """The SG regression's cost over one measured stage's forward + backward."""
        return self.sg_update / self.stage_compute

    def _share(self, num_stages: int, scaling: str) -> float:
        if scaling not in SCALINGS:
            raise UserError(f"scaling must be one of {', '.join(SCALINGS)}, got {scaling!r}")
        return 1 / num_stages if scaling == "strong" else 1 / self.calibrated_stages

    def reference_rate(self, num_stages: int, microbatches: int, scaling: str) -> float:
        """K times the whole K-stage model's rate on one worker: perfect, free pipelining.

        Speedup efficiency is throughput over this; the worker pays the
        runtime's overhead of a forward and a backward action per microbatch.
        """
        model = (self.forward + self.backward + self.optimizer / microbatches) * (
            self._share(num_stages, scaling) * num_stages
        )
        return num_stages * self.microbatch_size / (model + 2 * self.overhead)

    def pipeline(
        self, num_stages: int, *, scaling: str = "weak", sg_relative: float | None = None
    ) -> PipelineCosts:
        """Per-stage costs of ``num_stages`` equal stages under ``scaling``.

        ``sg_relative`` sets the SG regression to that fraction of one measured
        stage's forward + backward (default: as measured).
        """
        share = self._share(num_stages, scaling)
        sg = self.sg_update if sg_relative is None else sg_relative * self.stage_compute
        half = self.backward / 2
        stage = StageCosts(
            forward=self.forward * share,
            backward=self.backward * share,
            synth_backward=self.backward * share,
            backward_input=(half if self.backward_input is None else self.backward_input) * share,
            backward_weight=(half if self.backward_weight is None else self.backward_weight)
            * share,
            sg_update=sg,
            si_forward=self.si_forward,
            si_update=self.si_update,
            optimizer=self.optimizer * share,
            send=self.send,
            overhead=self.overhead,
        )
        return PipelineCosts.uniform(num_stages, stage, self.link)


def _mean_stage(calibrations: Iterable[Calibration], name: str, stage: int | None) -> float:
    """Mean over launches of one cost; ``stage`` None sums over stages."""
    values = []
    for cal in calibrations:
        costs = [getattr(s, name) for s in cal.costs.stages]
        values.append(sum(costs) if stage is None else costs[stage])
    return float(np.mean(values)) if values else 0.0


def _largest_m(specs: dict[str, dict[str, Any]], mode: str) -> str | None:
    """The first spans-on benchmark of ``mode`` with the most microbatches."""
    found = [s for s in specs.values() if s.get("mode") == mode and s.get("spans", True)]
    if not found:
        return None
    best = max(int(s.get("microbatches", 1)) for s in found)
    return next(str(s["name"]) for s in found if int(s.get("microbatches", 1)) == best)


def model_costs_from_run(
    run_dir: Path | str, statistic: str = "mean", only: str | None = None
) -> ModelCosts:
    """A model's costs from a run: compute from its backprop benchmarks, SG and SI from unlocked.

    Forward, backward, optimiser, send, overhead and link come from the
    gpipe and 1F1B benchmarks with the most microbatches (mean over their
    launches), the SG regression from the DNI one (first stage), the SI costs
    from the unlock one (last stage), the split backward's two halves from the
    zb one (so a simulated zb pays what the measured split cost). ``only``: the benchmarks
    whose names start with it (one workload of a run that has several).
    """
    run_dir = Path(run_dir)
    specs = load_specs(run_dir)
    if only is not None:
        specs = {name: spec for name, spec in specs.items() if name.startswith(only)}
    cal = RunCalibrations(run_dir, specs, statistic)
    backprop = [
        n for n in (_largest_m(specs, GPIPE.name), _largest_m(specs, ONE_F_ONE_B.name)) if n
    ]
    base = [c for name in backprop for c in cal.of(name) if c.has_spans]
    if not base:
        raise UserError(
            f"{run_dir} has no gpipe or 1f1b benchmark with spans to calibrate from; "
            "run the pipeline suite (dnibench run pipeline) and point --from at it"
        )
    dni_name, unlock_name = _largest_m(specs, DNI.name), _largest_m(specs, UNLOCK.name)
    dni = cal.of(dni_name) if dni_name else []
    unlock = cal.of(unlock_name) if unlock_name else []
    zb_name = _largest_m(specs, ZB.name)
    zb = [c for c in cal.of(zb_name) if c.has_spans] if zb_name else []
    first = specs[backprop[0]]
    m = int(first.get("microbatches", 1))
    stages = base[0].costs.num_stages
    sources = [*backprop, *(n for n in (dni_name, unlock_name, zb_name) if n)]
    return ModelCosts(
        forward=_mean_stage(base, "forward", None),
        backward=_mean_stage(base, "backward", None),
        optimizer=_mean_stage(base, "optimizer", None),
        sg_update=_mean_stage(dni, "sg_update", 0),
        si_forward=_mean_stage(unlock, "si_forward", stages - 1),
        si_update=_mean_stage(unlock, "si_update", stages - 1),
        send=_mean_stage(base, "send", None) / stages,
        overhead=_mean_stage(base, "overhead", None) / stages,
        link=LinkModel(latency=float(np.mean([c.costs.link.latency for c in base]))),
        calibrated_stages=stages,
        microbatch_size=max(1, int(first.get("batch_size", m)) // m),
        sees_arrivals=first.get("backend", "gloo") != "gloo",
        source=f"{run_dir.name}: {', '.join(sources)}",
        backward_input=_mean_stage(zb, "backward_input", None) if zb else None,
        backward_weight=_mean_stage(zb, "backward_weight", None) if zb else None,
    )


@dataclass(frozen=True)
class SweepPoint:
    """One simulated configuration and what it predicts."""

    mode: str
    stages: int
    microbatches: int
    sg_relative: float
    prediction: Prediction
    speedup_efficiency: float


@dataclass(frozen=True)
class SweepSettings:
    """Knobs shared by every point of a sweep."""

    scaling: str = "weak"
    straggler: tuple[int, float] | None = None
    p_update: float = 1.0
    staleness: int = 0
    steps: int = 5
    warmup: int = 2
    seed: int = 0


def simulate_point(
    model: ModelCosts,
    mode: str,
    stages: int,
    microbatches: int,
    settings: SweepSettings,
    sg_relative: float | None = None,
) -> SweepPoint:
    """Simulate one (regime, K, m, SG cost) point of a sweep.

    A (K, m) the mode itself refuses (:meth:`~dnibench.modes.Mode.problem`, e.g.
    pipedream-2bw with fewer microbatches than stages) is a :class:`UserError`:
    the simulator predicts only what a real run could do.
    """
    problem = get_mode(mode).problem(stages, microbatches)
    if problem is not None:
        raise UserError(f"not applicable: {problem}")
    costs = model.pipeline(stages, scaling=settings.scaling, sg_relative=sg_relative)
    if settings.straggler is not None:
        stage, factor = settings.straggler
        costs = costs.with_straggler(stage, factor)
    unlocked = is_unlocked(mode)
    warmup, steps = settings.warmup, settings.steps
    if unlocked:
        # An unlocked run must outlast its staleness, or its SG updates all fall after the
        # window: warm up past the first deadline, and measure a few deadlines' worth.
        window = staleness_steps = math.ceil((settings.staleness + 2) / microbatches)
        warmup = max(warmup, staleness_steps)
        steps = warmup + max(steps - settings.warmup, 2 * window)
    config = SimConfig(
        schedule=mode,
        num_stages=stages,
        microbatches=microbatches,
        steps=steps,
        warmup=warmup,
        staleness=settings.staleness,
        p_update=settings.p_update if unlocked else 1.0,
        seed=settings.seed,
        microbatch_size=model.microbatch_size,
        sees_arrivals=model.sees_arrivals,
    )
    prediction = predict(simulate(config, costs))
    reference = model.reference_rate(stages, microbatches, settings.scaling)
    rel = model.sg_relative if sg_relative is None else sg_relative
    return SweepPoint(
        mode, stages, microbatches, rel, prediction, prediction.throughput / reference
    )


def sg_cost_matters(mode: str) -> bool:
    """Synthetic gradients and no synthetic inputs (dni, cdni): the SG cost sets the pace."""
    regime = get_mode(mode).regime
    return regime.synthetic_gradients and not regime.synthetic_inputs


def sweep(
    model: ModelCosts,
    modes: Sequence[str],
    stages: Sequence[int],
    microbatches: Sequence[int],
    settings: SweepSettings,
    sg_relatives: Sequence[float | None] = (None,),
) -> list[SweepPoint]:
    """Every combination of mode, K, m and SG relative cost (SG cost matters to dni/cdni only).

    Combinations the mode refuses (:meth:`~dnibench.modes.Mode.problem`) are left
    out, so a table shows them as missing rather than as a figure no run could
    reach; :func:`not_applicable` lists them for the report.
    """
    points = []
    for mode in modes:
        row = get_mode(mode)
        for rel in sg_relatives if sg_cost_matters(mode) else (None,):
            for k in stages:
                for m in microbatches:
                    if row.problem(k, m) is None:
                        points.append(simulate_point(model, mode, k, m, settings, rel))
    return points


def not_applicable(
    modes: Sequence[str], stages: Sequence[int], microbatches: Sequence[int]
) -> list[str]:
    """ "mode at K = k, m = m: why" for every combination of a sweep the mode refuses."""
    out = []
    for mode in modes:
        row = get_mode(mode)
        for k in stages:
            for m in microbatches:
                problem = row.problem(k, m)
                if problem is not None:
                    out.append(f"{mode} at K = {k}, m = {m}: {problem}")
    return out


def first_below(
    points: Sequence[SweepPoint], mode: str, m: int, attr: str, threshold: float = 0.5
) -> int | None:
    """Smallest K whose efficiency ``attr`` falls below ``threshold`` (None: never in the sweep)."""
    for point in sorted(
        (p for p in points if p.mode == mode and p.microbatches == m), key=lambda p: p.stages
    ):
        value = point.speedup_efficiency if attr == "speedup" else point.prediction.efficiency
        if value < threshold:
            return point.stages
    return None


def overtake(
    dni: dict[tuple[int, int], float], baseline: dict[tuple[int, int], float], m: int
) -> int | None:
    """Smallest K from which DNI's throughput stays above the baseline's at ``m``."""
    ks = sorted(k for k, mm in dni if mm == m and (k, mm) in baseline)
    answer = None
    for k in reversed(ks):
        if dni[(k, m)] > baseline[(k, m)] and not math.isnan(dni[(k, m)]):
            answer = k
        else:
            break
    return answer
