"""The language-model section: gap closed per seed, paired verdicts, the floor premise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.studies.train.lm_section import gap_closed, lm_section, lm_targets
from dnibench.studies.train.section import BASELINE, ff_section_markdown


def write_run(tmp_path: Path, losses: dict[str, list[float]], stages: int = 2) -> Path:
    """One gpt group on pystdlib: final held-out losses per benchmark; curves fall to them."""
    entries, rows, curves = [], [], []
    for name, finals in losses.items():
        mode, frozen = ("backprop", stages - 1) if name == "floor" else (name, 0)
        spec = {"data": "pystdlib", "mode": mode, "frozen_stages": frozen, "input_shape": [8],
                "pipeline": {"model": "gpt", "stages": stages}}  # fmt: skip
        entries.append({"name": name, "kind": "train", "spec": spec})
        for repeat, final in enumerate(finals):
            rows.append({"benchmark": name, "mode": mode, "stages": stages, "microbatches": 1,
                         "metric": "test_loss", "stage": -1, "repeat": repeat,
                         "value": final, "unit": "nats"})  # fmt: skip
            for step in (1, 2):
                curves.append({"benchmark": name, "repeat": repeat, "step": step,
                               "samples": 10 * step, "seconds": 0.5 * step, "train_loss": 0,
                               "test_loss": final + 1.0 / step, "test_accuracy": 0})  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"benchmarks": entries}))
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    pd.DataFrame(curves).to_csv(tmp_path / "curves.csv", index=False)
    return tmp_path


BACKPROP = [2.0, 2.1, 2.0, 2.2, 2.1]
FLOOR = [3.0, 3.1, 3.0, 3.2, 3.1]  # every seed 1.0 above backprop: the premise holds


def test_gap_closed_is_the_per_seed_share_of_backprops_loss_reduction() -> None:
    bp, floor = np.array(BACKPROP), np.array(FLOOR)
    closed = gap_closed(np.array([2.5, 2.6, 2.1, 2.3, 3.1]), bp, floor)
    assert [round(v, 6) for v in closed.per_key.values()] == [0.5, 0.5, 0.9, 0.9, 0.0]
    assert closed.interval.low == 0.0 and abs(closed.interval.high - 0.9) < 1e-9
    assert abs(closed.interval.estimate - 0.5) < 1e-9


def test_verdicts_met_missed_and_inconclusive_on_a_hand_made_table() -> None:
    loss = {
        "backprop": np.array(BACKPROP),
        BASELINE: np.array(FLOOR),
        "dni": np.array([2.5, 2.6, 2.5, 2.7, 2.6]),  # gap closed 0.5 on every seed
        "cdni": np.array([2.05, 2.7, 2.02, 2.25, 2.15]),  # 0.95, 0.4, 0.98, 0.95, 0.95
    }
    trains, close, cdni_trains, cdni_close, better = lm_targets(loss, "g")
    assert trains.verdict == "met" and abs(trains.measured - 0.5) < 1e-9
    assert close.verdict == "missed"  # [0.5, 0.5] wholly below 0.9
    assert cdni_trains.verdict == "met"
    assert cdni_close.verdict.startswith("inconclusive")  # [0.4, 0.98] straddles 0.9
    assert better.verdict.startswith("inconclusive")  # cdni - dni: one seed above 0
    assert better.interval is not None and better.interval.high > 0 > better.interval.low


def test_every_verdict_is_not_testable_when_backprop_does_not_beat_the_floor() -> None:
    loss = {
        "backprop": np.array(BACKPROP),
        BASELINE: np.array([3.0, 2.0, 3.0, 3.0, 3.0]),  # seed 1: the floor beats backprop
        "dni": np.array([2.5, 2.6, 2.5, 2.7, 2.6]),
    }
    targets = lm_targets(loss, "g")
    assert len(targets) == 2
    assert all(t.verdict.startswith("not testable") for t in targets)
    assert "does not beat" in targets[0].verdict


def test_the_section_shows_loss_against_tokens_and_records_verdicts(tmp_path: Path) -> None:
    run = write_run(tmp_path, {"backprop": BACKPROP, "dni": [2.5, 2.6, 2.5, 2.7, 2.6],
                               "floor": FLOOR})  # fmt: skip
    section = lm_section(run)
    assert section is not None
    assert "80 tokens | 160 tokens" in section.markdown  # samples x the window of 8
    assert "| dni | 0.50, 0.50, 0.50, 0.50, 0.50 | 0.50 [0.50, 0.50] |" in section.markdown
    assert [v.verdict for v in section.verdicts] == ["met", "missed"]
    assert ff_section_markdown(run) is None  # a token corpus is this section's, not ff's


def test_no_section_without_the_floor(tmp_path: Path) -> None:
    assert lm_section(write_run(tmp_path, {"backprop": BACKPROP, "dni": BACKPROP})) is None
