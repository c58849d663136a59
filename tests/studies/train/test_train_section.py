"""The ff section: a run-relative target, interpolated reach, verdicts under their premise."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.studies.train.section import BASELINE, ff_section_markdown, first_reach, group_targets


def spec(mode: str, frozen: int = 0) -> dict:
    return {"data": "mnist1d", "mode": mode, "frozen_stages": frozen,
            "pipeline": {"model": "conv1d", "stages": 3}}  # fmt: skip


def write_run(tmp_path: Path, accuracies: dict[str, list[float]]) -> Path:
    """A run of one group: per benchmark its final accuracies; curves rise linearly to them."""
    entries, rows, curves = [], [], []
    for name, finals in accuracies.items():
        mode, frozen = ("backprop", 2) if name == "last" else (name, 0)
        entries.append({"name": name, "kind": "train", "spec": spec(mode, frozen)})
        for repeat, final in enumerate(finals):
            rows.append({"benchmark": name, "mode": mode, "stages": 3, "microbatches": 1,
                         "metric": "test_accuracy", "stage": -1, "repeat": repeat,
                         "value": final, "unit": "ratio"})  # fmt: skip
            for step in (1, 2, 3, 4):
                curves.append({"benchmark": name, "repeat": repeat, "step": step,
                               "samples": 100 * step, "seconds": 0.5 * step, "train_loss": 0,
                               "test_loss": 0, "test_accuracy": final * step / 4})  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"benchmarks": entries}))
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    pd.DataFrame(curves).to_csv(tmp_path / "curves.csv", index=False)
    return tmp_path


def test_reach_is_the_first_evaluation_at_the_target_not_interpolated() -> None:
    run = pd.DataFrame({"samples": [300, 100, 200], "seconds": [3.0, 1.0, 2.0],
                        "test_accuracy": [0.8, 0.2, 0.6]})  # fmt: skip
    assert first_reach(run, 0.5) == (200.0, 2.0)
    assert first_reach(run, 0.6) == (200.0, 2.0)
    assert first_reach(run, 0.1) == (100.0, 1.0)
    assert all(math.isnan(v) for v in first_reach(run, 0.9))


def test_verdicts_follow_the_measurements_when_the_premise_holds() -> None:
    acc = {
        "backprop": np.array([0.90, 0.91, 0.92]),
        BASELINE: np.array([0.50, 0.52, 0.51]),
        "dni": np.array([0.88, 0.87, 0.89]),  # per-seed shares 0.95, 0.897, 0.927
        "cdni": np.array([0.80, 0.81, 0.79]),  # per seed 0.08, 0.06, 0.10 below DNI: missed
        "unlock": np.array([0.70, 0.72, 0.71]),  # 0.20 above the baseline on every seed
    }
    close, cdni, unlock = group_targets(acc)
    # Paired by seed, never divided by a median baseline: the share's interval
    # [0.897, 0.95] straddles the 0.9 goal, so DNI's closeness is not shown.
    assert abs(close.measured - 0.38 / 0.41) < 1e-9
    assert close.interval is not None and abs(close.interval.low - 0.35 / 0.39) < 1e-9
    assert close.verdict.startswith("inconclusive")
    assert cdni.verdict == "missed" and abs(cdni.measured + 0.08) < 1e-9
    assert unlock.verdict == "met" and abs(unlock.measured - 0.20) < 1e-9


def test_cdni_better_than_dni_needs_every_seed_above() -> None:
    base = {"backprop": np.array([0.90, 0.91, 0.92, 0.90, 0.91]),
            BASELINE: np.array([0.50, 0.52, 0.51, 0.50, 0.52]),
            "dni": np.array([0.80, 0.81, 0.82, 0.80, 0.81])}  # fmt: skip
    ahead = group_targets({**base, "cdni": base["dni"] + np.array([0.01, 0.02, 0.01, 0.03, 0.01])})
    assert ahead[1].verdict == "met"
    mixed = group_targets({**base, "cdni": base["dni"] + np.array([0.01, -0.01, 0.02, 0.0, 0.01])})
    assert mixed[1].verdict.startswith("inconclusive")


def test_every_claim_is_not_testable_when_backprop_does_not_beat_the_baseline() -> None:
    acc = {
        "backprop": np.array([0.60, 0.70, 0.65]),
        BASELINE: np.array([0.62, 0.55, 0.66]),  # per seed -0.02, +0.15, -0.01: straddles 0
        "dni": np.array([0.9, 0.9, 0.9]),
        "cdni": np.array([0.9, 0.9, 0.9]),
        "unlock": np.array([0.9, 0.9, 0.9]),
    }
    targets = group_targets(acc)
    assert len(targets) == 3
    assert all(t.verdict.startswith("not testable: backprop does not beat") for t in targets)
    two_seeds = {k: v[:2] for k, v in acc.items()}
    assert all("needs 3 seeds" in t.verdict for t in group_targets(two_seeds))


def test_cdni_is_not_testable_when_dni_itself_does_not_train() -> None:
    acc = {
        "backprop": np.array([0.90, 0.91, 0.92]),
        BASELINE: np.array([0.50, 0.52, 0.51]),
        "dni": np.array([0.50, 0.53, 0.51]),
        "cdni": np.array([0.60, 0.61, 0.62]),
    }
    close, cdni = group_targets(acc)
    assert close.verdict == "missed"
    assert cdni.verdict.startswith("not testable: DNI does not beat")


def test_the_section_lists_every_regime_with_the_run_relative_target(tmp_path: Path) -> None:
    run = write_run(tmp_path, {
        "backprop": [0.80, 0.80, 0.80], "dni": [0.76, 0.78, 0.77], "cdni": [0.78, 0.79, 0.77],
        "unlock": [0.60, 0.74, 0.70], "last": [0.40, 0.41, 0.42],
    })  # fmt: skip
    markdown = ff_section_markdown(run)
    assert markdown is not None
    assert "= 0.7600" in markdown  # 0.95 x 0.80
    # backprop's curve rises 0.2 per 100 samples: 0.76 is first met at the 400-sample evaluation
    assert "| backprop | backprop | 3 | 0.8000 (0.8000-0.8000) | 400 (400-400) |" in markdown
    assert "| unlock | unlock | 3 | 0.7000 (0.6000-0.7400) | not reached (0/3) |" in markdown
    assert f"| {BASELINE} | last | 3 |" in markdown
    assert "mnist1d conv1d K=3 [unlock]: complete unlock trains" in markdown


def test_no_section_without_a_baseline(tmp_path: Path) -> None:
    run = write_run(tmp_path, {"backprop": [0.8, 0.8, 0.8], "dni": [0.7, 0.7, 0.7]})
    assert ff_section_markdown(run) is None
