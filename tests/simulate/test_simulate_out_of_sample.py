"""The simulator's out-of-sample selection: never a benchmark's own spans, the nearest other m."""

from __future__ import annotations

from typing import Any

import pytest

from dnibench.simulate.costs import LinkModel, PipelineCosts, StageCosts
from dnibench.simulate.headline import headline_record
from dnibench.simulate.out_of_sample import pick_source, rescale
from dnibench.simulate.validate import ValidationRow


def _spec(name: str, mode: str, m: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "mode": mode, "microbatches": m, "batch_size": 64, "stages": 2,
            "spans": True, **extra}  # fmt: skip


def _specs(*specs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in specs}


def test_source_is_the_same_regime_at_the_nearest_other_m_never_itself() -> None:
    specs = _specs(
        _spec("dni-m1", "dni", 1), _spec("dni-m4", "dni", 4), _spec("dni-m8", "dni", 8),
        _spec("gpipe-m8", "gpipe", 8), _spec("dni-m8-nospans", "dni", 8, spans=False),
        _spec("dni-sg16-m4", "dni", 4, sg_width=16), _spec("torch-gpipe-m1", "torch-gpipe", 1),
        _spec("torch-gpipe-m8", "torch-gpipe", 8),
    )  # fmt: skip
    assert pick_source(specs, "dni-m1") == "dni-m4"
    assert pick_source(specs, "dni-m8") == "dni-m4"
    assert pick_source(specs, "dni-m4") == "dni-m1"  # |4-1| = 3 < |8-4| = 4
    assert pick_source(specs, "gpipe-m8") is None  # measured at one m only
    assert pick_source(specs, "dni-m8-nospans") is None  # spans off: nothing of its own
    assert pick_source(specs, "dni-sg16-m4") is None  # no other m with the same SG
    assert pick_source(specs, "torch-gpipe-m8") is None  # peers hide their overhead
    for name in specs:
        assert pick_source(specs, name) != name


def test_tie_goes_to_the_larger_m() -> None:
    specs = _specs(_spec("1f1b-m2", "1f1b", 2), _spec("1f1b-m4", "1f1b", 4),
                   _spec("1f1b-m6", "1f1b", 6))  # fmt: skip
    assert pick_source(specs, "1f1b-m4") == "1f1b-m6"


def test_rescale_scales_compute_only() -> None:
    stage = StageCosts(forward=1.0, backward=2.0, sg_update=0.5, optimizer=3.0, send=0.1,
                       overhead=0.2)  # fmt: skip
    costs = rescale(PipelineCosts.of([stage, stage], LinkModel(latency=0.01)), 0.5)
    out = costs.stages[0]
    assert (out.forward, out.backward, out.sg_update) == (0.5, 1.0, 0.25)
    assert (out.optimizer, out.send, out.overhead) == (3.0, 0.1, 0.2)
    assert costs.link.latency == pytest.approx(0.01)


def _row(name: str, predicted: float, measured: float) -> ValidationRow:
    return ValidationRow(name, "dni", 2, 4, predicted, measured, 0.15, 3, "from x")


def test_headline_is_met_only_when_every_row_is_within() -> None:
    good = [_row("a", 105.0, 100.0), _row("b", 90.0, 100.0)]
    record = headline_record("out of sample", good, 0.15)
    assert record.word == "met" and record.estimate == pytest.approx(0.10)
    assert "2 of 2 within ±15%" in record.claim
    bad = headline_record("out of sample", [*good, _row("c", 130.0, 100.0)], 0.15)
    assert bad.word == "missed" and bad.estimate == pytest.approx(0.30) and "(c)" in bad.claim
    assert headline_record("out of sample", [], 0.15).word == "not measured"
