"""The asynchronous modes beside DNI: costs, paired verdicts and premise, on hand-made runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.modes import DGL, DNI, PIPEDREAM, PIPEMARE
from dnibench.studies.train.async_section import (
    LOCAL_LOSS,
    STALENESS,
    SYNTHETIC,
    async_section,
    async_targets,
    cost_of,
    samples_ratio,
)
from dnibench.studies.train.section import BASELINE, ff_section_markdown

SEEDS = 5
_DNI, _PD, _PM, _DGL = DNI.name, PIPEDREAM.name, PIPEMARE.name, DGL.name


def write_run(tmp_path: Path, finals: dict[str, list[float]], m: int = 4) -> Path:
    """One group (mnist1d, conv1d, K = 3, m): per benchmark its final accuracy per seed;
    each curve rises linearly to it over 4 evaluations of 100 samples."""
    entries, rows, curves = [], [], []
    for name, values in finals.items():
        mode, frozen = ("backprop", 2) if name == "last" else (name, 0)
        spec = {"data": "mnist1d", "mode": mode, "frozen_stages": frozen, "microbatches": m,
                "pipeline": {"model": "conv1d", "stages": 3}}  # fmt: skip
        entries.append({"name": f"m{m}-{name}", "kind": "train", "spec": spec})
        for repeat, final in enumerate(values):
            rows.append({"benchmark": f"m{m}-{name}", "mode": mode, "stages": 3,
                         "microbatches": m, "metric": "test_accuracy", "stage": -1,
                         "repeat": repeat, "value": final, "unit": "ratio"})  # fmt: skip
            for step in (1, 2, 3, 4):
                curves.append({"benchmark": f"m{m}-{name}", "repeat": repeat, "step": step,
                               "samples": 100 * step, "seconds": 0.5 * step, "train_loss": 0,
                               "test_loss": 0, "test_accuracy": final * step / 4})  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"benchmarks": entries}))
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    pd.DataFrame(curves).to_csv(tmp_path / "curves.csv", index=False)
    return tmp_path


BACKPROP = [0.90, 0.91, 0.92, 0.90, 0.91]
FINALS = {
    "backprop": BACKPROP,
    "last": [0.50, 0.52, 0.51, 0.50, 0.52],
    _DNI: [0.80, 0.81, 0.82, 0.80, 0.81],
    _PD: [0.89, 0.90, 0.91, 0.89, 0.90],  # 0.09 above DNI on every seed; 97-98% of the gain
    _PM: [0.79, 0.83, 0.81, 0.82, 0.80],  # -0.01 to +0.02 against DNI: straddles 0
    _DGL: [0.30, 0.30, 0.30, 0.30, 0.30],  # never reaches 0.95 x 0.91
}


def test_each_mode_is_labelled_with_what_removing_the_lock_costs_it() -> None:
    assert cost_of(_PD) == cost_of(_PM) == STALENESS
    assert cost_of(_DGL) == LOCAL_LOSS
    assert cost_of(_DNI) == SYNTHETIC


def test_verdicts_met_missed_and_inconclusive_paired_by_seed() -> None:
    acc = {k if k != "last" else BASELINE: np.array(v) for k, v in FINALS.items()}
    targets = {t.name: t for t in async_targets(acc, {}, "g")}
    assert len(targets) == 6  # close to backprop and better than DNI, per mode
    pd_close = targets[f"g [{_PD}]: {_PD} ({STALENESS}) close to backprop: share of backprop's "
                       "gain over the baseline (per seed, paired)"]  # fmt: skip
    assert pd_close.verdict == "met"
    pd_ahead = next(
        t for t in targets.values() if t.name.startswith(f"g [{_PD}]") and "DNI" in t.name
    )
    assert pd_ahead.verdict == "met" and abs(pd_ahead.measured - 0.09) < 1e-9
    pm_ahead = next(
        t for t in targets.values() if t.name.startswith(f"g [{_PM}]") and "DNI" in t.name
    )
    assert pm_ahead.verdict.startswith("inconclusive")
    assert pm_ahead.interval is not None
    assert abs(pm_ahead.interval.low + 0.01) < 1e-9 and abs(pm_ahead.interval.high - 0.02) < 1e-9
    dgl = [t for t in targets.values() if t.name.startswith(f"g [{_DGL}]")]
    assert [t.verdict for t in dgl] == ["missed", "missed"]
    assert all(LOCAL_LOSS in t.name for t in dgl)


def test_every_verdict_is_not_testable_when_backprop_does_not_beat_the_baseline() -> None:
    acc = {"backprop": np.array([0.60, 0.70, 0.65, 0.6, 0.6]),
           BASELINE: np.array([0.62, 0.55, 0.66, 0.6, 0.7]),  # straddles 0
           _DNI: np.full(5, 0.5), _PD: np.full(5, 0.9)}  # fmt: skip
    targets = async_targets(acc, {}, "g")
    assert len(targets) == 2
    assert all(t.verdict.startswith("not testable: backprop does not beat") for t in targets)


def test_samples_ratio_keeps_a_never_reached_seed_and_needs_backprop_everywhere() -> None:
    ratio = samples_ratio(np.array([200.0, math.nan, 300.0]), np.array([100.0, 100.0, 100.0]))
    assert not isinstance(ratio, str)
    assert ratio.per_key == {0: 2.0, 1: math.inf, 2: 3.0}
    assert math.isinf(ratio.interval.high)
    missing = samples_ratio(np.array([200.0, 200.0]), np.array([100.0, math.nan]))
    assert missing == "backprop reaches the target on 1/2 seeds"


def test_the_section_puts_each_mode_beside_dni_and_records_verdicts(tmp_path: Path) -> None:
    section = async_section(write_run(tmp_path, FINALS))
    assert section is not None
    text = section.markdown
    assert "### mnist1d, conv1d, 3 stages, 4 microbatches: asynchronous modes" in text
    dni_row = next(line for line in text.splitlines() if line.startswith(f"| {_DNI} |"))
    assert SYNTHETIC in dni_row and "-0.1000 [-0.1000, -0.1000]" in dni_row
    pd_row = next(line for line in text.splitlines() if line.startswith(f"| {_PD} |"))
    # samples to 0.95 x 0.91: 400 on every seed for backprop and pipedream: ratio 1
    assert STALENESS in pd_row and "+0.0900 [+0.0900, +0.0900]" in pd_row
    assert "1.00 [1.00, 1.00]" in pd_row
    dgl_row = next(line for line in text.splitlines() if line.startswith(f"| {_DGL} |"))
    assert LOCAL_LOSS in dgl_row and "not reached (0/5)" in dgl_row
    assert "never reached" in dgl_row
    assert len(section.verdicts) == 6
    assert {v.study for v in section.verdicts} == {"train"}
    assert all("K=3 m=4" in v.claim for v in section.verdicts)


def test_the_section_says_not_testable_when_the_premise_fails(tmp_path: Path) -> None:
    finals = {**FINALS, "last": BACKPROP}  # the baseline as good as backprop
    section = async_section(write_run(tmp_path, finals))
    assert section is not None
    assert "Verdicts not testable: backprop does not beat" in section.markdown
    assert all(v.verdict.startswith("not testable") for v in section.verdicts)


def test_no_section_without_an_asynchronous_mode_and_m_splits_the_ff_groups(
    tmp_path: Path,
) -> None:
    finals = {k: v for k, v in FINALS.items() if k in ("backprop", "last", _DNI)}
    assert async_section(write_run(tmp_path, finals)) is None
    text = ff_section_markdown(tmp_path)
    assert text is not None and "### mnist1d, conv1d, 3 stages, 4 microbatches" in text
    assert "mnist1d conv1d K=3 m=4 [m4-dni]: DNI close to backprop" in text
