"""The SG ceiling: boundary states kept during training, and the ceiling beside the learned SG.

- :class:`BoundaryStates` keeps every ``stride``-th boundary, the newest
  ``capacity`` rows, only where the next horizon is in the streams, and hands
  back the very characters that follow each state;
- a zero SG scores R^2 <= 0 on the held-out windows (no better than the mean);
- a whole (tiny) dni-tbptt run records the ceiling at its gamma and at 1.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from dnibench.studies.recurrent.bench import run_recurrent
from dnibench.studies.recurrent.ceiling import BoundaryStates, sg_ceiling
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.core import LSTMCore


def test_boundary_states_keep_strided_recent_rows_with_their_future() -> None:
    streams = torch.arange(2 * 60).reshape(2, 60)
    core = LSTMCore(120, 120, 3)
    boundary = BoundaryStates(streams, truncation=8, capacity=4, stride=2)
    assert boundary.horizon == 40
    for position in (8, 10, 12, 14, 16, 18, 20):
        state = (torch.full((1, 2, 3), float(position)), torch.zeros(1, 2, 3))
        boundary.observe(core, state, position)
    # calls 2, 4, 6 kept positions 10, 14, 18; 18 + 40 + 1 <= 60 holds; capacity 4 rows = 2 blocks
    states, inputs, targets = boundary.windows()
    assert boundary.rows == 4
    assert states[:, 0].tolist() == [14.0, 14.0, 18.0, 18.0]
    assert inputs[0].tolist() == list(range(14, 54)) and targets[0].tolist() == list(range(15, 55))
    boundary.observe(core, None, 30)  # a fresh start keeps nothing
    boundary.observe(core, (torch.ones(1, 2, 3), torch.ones(1, 2, 3)), 30)  # 30 + 41 > 60
    assert boundary.rows == 4


def test_a_zero_sg_scores_no_better_than_the_mean() -> None:
    torch.manual_seed(0)
    ids = torch.randint(11, (4000,), generator=torch.Generator().manual_seed(1))
    core = LSTMCore(11, 11, 6)
    streams = ids[:3200].reshape(8, 400)
    boundary = BoundaryStates(streams, truncation=8, capacity=200, stride=1)
    with torch.no_grad():
        state = None
        for position in range(0, 320, 8):
            _, state = core(streams[:, position : position + 8], state)
            boundary.observe(core, state, position + 8)
    point = sg_ceiling(core, lambda s: torch.zeros_like(s), boundary, ids[3200:], 0.5, windows=64)
    assert point.learned_r2 <= 0.0
    assert math.isfinite(point.ceiling_r2) and math.isfinite(point.undiscounted_r2)
    assert point.ceiling_r2 <= 1.0 and point.alpha > 0


def test_a_dni_run_records_the_ceiling_beside_the_learned_sg(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    generator = torch.Generator().manual_seed(2)
    letters = torch.randint(0, 6, (40_000,), generator=generator).tolist()
    text.write_text("".join("abcde\n"[i] for i in letters), encoding="utf-8")
    config = RecurrentConfig(
        mode="dni-tbptt", data="text", text_path=text, split=0.8, min_count=1, width=6,
        batch_size=4, chars=3_200, eval_every=1_600, eval_chars=4_000, sg_gamma=1.0,
    )  # fmt: skip
    run = run_recurrent("tiny", config, 0)
    rows = {row["metric"]: row["value"] for row in run.rows()}
    for metric in ("sg_r2", "ceiling_r2", "ceiling_cosine", "ceiling_r2_gamma1"):
        assert math.isfinite(float(rows[metric])), metric  # type: ignore[arg-type]
    # gamma = 1 here, so the ceiling at the run's gamma and at gamma 1 are one fit
    assert rows["ceiling_r2"] == rows["ceiling_r2_gamma1"]
