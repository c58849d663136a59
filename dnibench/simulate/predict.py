"""Metrics of a simulated run, defined as the runtime defines them on measured spans.

The measured window runs from the end of the last warm-up step to the end of
the last step, a step ending when its last stage ends it (as in
:func:`dnibench.instrument.pipeline_metrics`). Throughput is samples over
that window; the ideal is a microbatch's samples over the largest busy time
per microbatch of any stage; pipeline efficiency is their ratio. Lock idle
is split into waiting for an activation and waiting for a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnibench.simulate.engine import SimResult

__all__ = ["Prediction", "predict"]


@dataclass(frozen=True)
class Prediction:
    """What a simulated run predicts; fractions are of the measured window, per stage."""

    throughput: float
    ideal_throughput: float
    efficiency: float
    step_time: float
    busy_fraction: tuple[float, ...]
    wait_activation_fraction: tuple[float, ...]
    wait_gradient_fraction: tuple[float, ...]
    comm_fraction: tuple[float, ...]
    overhead_fraction: tuple[float, ...]
    #: Most microbatches any stage held between forward and backward (autograd graphs).
    activation_memory: int
    peak_in_flight: tuple[int, ...]
    #: Most activations a stage kept for SG regressions still waiting for their delta.
    peak_sg_held: tuple[int, ...]

    @property
    def idle_fraction(self) -> tuple[float, ...]:
        """Lock idle per stage: both kinds of waiting."""
        return tuple(
            a + g
            for a, g in zip(self.wait_activation_fraction, self.wait_gradient_fraction, strict=True)
        )


def predict(result: SimResult) -> Prediction:
    """Throughput, efficiency, idle per stage and activation memory of ``result``."""
    config = result.config
    warm, steps = config.warmup, config.steps
    pipeline_end = result.step_end.max(axis=0)
    t0 = 0.0 if warm == 0 else float(pipeline_end[warm - 1])
    t1 = float(pipeline_end[steps - 1])
    window = t1 - t0
    measured = steps - warm
    microbatches = measured * config.microbatches
    samples = microbatches * config.microbatch_size
    if window <= 0:
        raise ValueError(f"simulated window is empty ({window} s): are all costs zero?")
    columns = slice(warm, steps)

    def fraction(values: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in values[:, columns].sum(axis=1) / window)

    busy = result.busy[:, columns].sum(axis=1)
    slowest = float(busy.max()) / microbatches
    ideal = config.microbatch_size / slowest if slowest > 0 else float("inf")
    throughput = samples / window
    return Prediction(
        throughput=throughput,
        ideal_throughput=ideal,
        efficiency=throughput / ideal if np.isfinite(ideal) else float("nan"),
        step_time=window / measured,
        busy_fraction=fraction(result.busy),
        wait_activation_fraction=fraction(result.wait_activation),
        wait_gradient_fraction=fraction(result.wait_gradient),
        comm_fraction=fraction(result.comm),
        overhead_fraction=fraction(result.overhead),
        activation_memory=max(result.peak_in_flight),
        peak_in_flight=result.peak_in_flight,
        peak_sg_held=result.peak_sg_held,
    )
