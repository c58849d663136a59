"""The dni / zb crossover map: the SG cost it finds is where the simulator says parity is."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dnibench.simulate.costs import LinkModel
from dnibench.simulate.crossover import RANGE, crossover_map, crossover_markdown, zb_premise
from dnibench.simulate.scaling import ModelCosts, SweepSettings, simulate_point
from dnibench.simulate.validate import ValidationRow

MODEL = ModelCosts(
    forward=2.0, backward=4.0, optimizer=1.0, sg_update=0.3, si_forward=0.1, si_update=0.2,
    send=0.05, overhead=0.01, link=LinkModel(latency=0.02), calibrated_stages=2,
    microbatch_size=4, sees_arrivals=False, source="test", backward_input=2.0,
    backward_weight=2.0,
)  # fmt: skip
SETTINGS = SweepSettings(staleness=2)


def _ratio(model: ModelCosts, k: int, m: int, rel: float) -> float:
    dni = simulate_point(model, "dni", k, m, SETTINGS, sg_relative=rel).prediction.throughput
    return dni / simulate_point(model, "zb", k, m, SETTINGS).prediction.throughput


def test_crossover_brackets_parity() -> None:
    cells = crossover_map(MODEL, [4, 16], [1, 4], SETTINGS)
    assert len(cells) == 4
    found = [c for c in cells if c.sg_relative is not None]
    assert found, "expected DNI to beat zb with a cheap SG somewhere on a deep pipeline"
    step = (RANGE[1] - RANGE[0]) / 2**9
    for cell in found:
        below = _ratio(MODEL, cell.stages, cell.microbatches, max(cell.sg_relative - step, 0))
        above = _ratio(MODEL, cell.stages, cell.microbatches, cell.sg_relative + step)
        assert below > 1 >= above or below >= 1 > above
    for cell in cells:
        assert cell.ratio_free == pytest.approx(_ratio(MODEL, cell.stages, cell.microbatches, 0))


def test_none_in_range_when_dni_pays_for_any_sg_cost_in_it() -> None:
    # 64 stages, one microbatch: zb is all bubble, DNI none; even a dear SG does not close it.
    cell = crossover_map(MODEL, [64], [1], SETTINGS)[0]
    assert cell.sg_relative is None and cell.ratio_top > 1
    assert "DNI faster" in cell.text
    assert cell.ratio_top == pytest.approx(_ratio(MODEL, 64, 1, RANGE[1]))


def test_map_is_drawn_only_when_zb_was_predicted_within_target() -> None:
    row = ValidationRow(benchmark="zb-m8", mode="zb", stages=2, microbatches=8,
                        measured=100.0, target=0.10, launches=5, predicted=104.0,
                        calibration="own spans")  # fmt: skip
    assert zb_premise([row])[0]
    assert not zb_premise([replace(row, predicted=130.0)])[0]
    draw, why = zb_premise([replace(row, mode="1f1b")])
    assert not draw and "no measured zb" in why


def test_markdown_has_a_row_per_m_and_a_column_per_k() -> None:
    text = crossover_markdown(crossover_map(MODEL, [2, 4], [1, 8], SETTINGS))
    lines = text.splitlines()
    assert lines[0] == "| m \\ K | 2 | 4 |"
    assert [line.split(" |")[0] for line in lines[2:]] == ["| 1", "| 8"]


def test_report_draws_the_map_or_says_why_not() -> None:
    from dnibench.simulate.report.writer import _crossover_blocks

    cells = crossover_map(MODEL, [2, 4], [4], SETTINGS)
    drawn = [getattr(b, "text", "") for b in _crossover_blocks("checked", cells)]
    assert any("| m \\ K | 2 | 4 |" in text for text in drawn)
    refused = [getattr(b, "text", "") for b in _crossover_blocks("zb missed", None)]
    assert any(text == "Not drawn: zb missed." for text in refused)
