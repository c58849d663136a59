"""Pipeline simulator calibrated from measured runs: every regime at K stages.

A discrete-event simulator (:mod:`engine`) runs each stage's schedule
actions the way the dist runtime does, driven by per-stage costs and a link
model (:mod:`costs`); :mod:`calibrate` measures those costs from a run's
spans, :mod:`validate` puts predictions next to the run's measurements,
:mod:`crosscheck` predicts another run (a straggler) out of sample,
:mod:`scaling` re-splits a measured model over K stages and sweeps K, m and
the SG's cost, and :mod:`crossover` finds where DNI overtakes zero bubble.
The simulator core writes nothing itself: :mod:`dnibench.simulate.report` turns
its results into reports and :mod:`dnibench.cli.simulate` is the command, so
the reports can use the simulator without the simulator using the reports.
"""

from dnibench.simulate.costs import LinkModel, PipelineCosts, StageCosts
from dnibench.simulate.engine import SimConfig, SimResult, SimulationError, simulate
from dnibench.simulate.predict import Prediction, predict

__all__ = [
    "LinkModel",
    "PipelineCosts",
    "Prediction",
    "SimConfig",
    "SimResult",
    "SimulationError",
    "StageCosts",
    "predict",
    "simulate",
]
