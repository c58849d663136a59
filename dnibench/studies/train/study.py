"""The feed-forward training study: its kind (train on the reference runtime) and section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from dnibench.report.section import Section
from dnibench.studies.item import Item
from dnibench.studies.kind import BenchmarkKind
from dnibench.studies.study import Study
from dnibench.studies.train.asynchronous import check_asynchronous
from dnibench.studies.train.keys import TRAIN_KEYS, build_train
from dnibench.train import TrainResult


def _build(item: Item, values: Mapping[str, Any]) -> Item:
    config = build_train(values)
    check_asynchronous(item.name, config)  # an impossible asynchronous mode fails at load
    return replace(item, train=config, target_accuracy=values.get("target_accuracy"))


def _compute(item: Item, repeat: int, deadline_s: float | None) -> TrainResult:
    from dnibench.runtimes.one_process import watched
    from dnibench.studies.train.run import run_training

    assert item.train is not None, f"training benchmark {item.name} has no configuration"
    with watched(item.name, item.train.timeout_s):  # a hang fails it within timeout_s
        return run_training(item.train, repeat)


def _record(out: Path, item: Item, result: TrainResult, repeat: int, repeats: int) -> None:
    from dnibench.rundir import writer
    from dnibench.studies.train.run import train_rows

    rows, curve = train_rows(item.name, result, repeat, item.target_accuracy)
    writer.append_results(out, rows)
    writer.append_curves(out, curve)


def _feed_forward(run_dir: Path) -> Section | None:
    """Every regime against backprop and a last-stage-only baseline, with the paper's claims."""
    from dnibench.studies.train.section import ff_section

    return ff_section(run_dir)


def _train_async_modes(run_dir: Path) -> Section | None:
    """Each asynchronous mode's staleness or local-loss cost beside DNI's, paired by seed."""
    from dnibench.studies.train.async_section import async_section

    return async_section(run_dir)


def _language_model(run_dir: Path) -> Section | None:
    """The decoupled regimes of a transformer pipeline between the floor and backprop."""
    from dnibench.studies.train.lm_section import lm_section

    return lm_section(run_dir)


KIND: BenchmarkKind[TrainResult] = BenchmarkKind(
    "train",
    runtimes=("reference",),
    keys=TRAIN_KEYS,
    build=_build,
    body=lambda item: item.train,
    compute=_compute,
    record=_record,
    progress=lambda result: (
        f"test accuracy {result.final.test_accuracy:.4f}, test loss {result.final.test_loss:.4f}"
    ),
    figures=lambda result: {"test_accuracy": result.final.test_accuracy},
    parallel=True,  # on one thread its seconds are the training thread's own CPU (train.py)
    one_thread=lambda item: item.train is not None and item.train.threads == 1,
)

STUDY = Study(
    "train", rank=20, kinds=(KIND,), sections=(_feed_forward, _train_async_modes, _language_model)
)
