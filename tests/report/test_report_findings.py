"""Findings in words and the verdicts file, from hand-made verdicts."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from dnibench.report.findings import (
    VerdictRecord,
    findings_sentences,
    record_of_interval,
    verdict_rows,
)
from dnibench.rundir import writer
from dnibench.rundir.layout import VERDICT_COLUMNS, VERDICTS
from dnibench.stats import Interval


def _records() -> list[VerdictRecord]:
    faster = Interval(1.22, 1.20, 1.33, 0.75, "order statistics", 3)
    tie = Interval(0.99, 0.98, 1.07, 0.75, "order statistics", 3)
    slower = Interval(0.84, 0.82, 0.92, 0.75, "order statistics", 3)
    return [
        VerdictRecord(
            "pipeline",
            "dni-m8 pipeline efficiency",
            "met",
            0.94,
            goal=0.9,
            better=">=",
            method="point",
        ),
        record_of_interval("pipeline", "dni-m1 faster than torch-zb-m1", faster, 1.0, ">"),
        record_of_interval("pipeline", "dni-m8 faster than zb-m8", tie, 1.0, ">"),
        record_of_interval("pipeline", "dni-m1 faster than single-all-m1", slower, 1.0, ">"),
        record_of_interval(
            "pipeline",
            "zb beats 1f1b at m=8",
            faster,
            1.0,
            ">",
            premise="zb's lock idle is not below 1f1b's",
        ),
    ]


def test_findings_say_what_was_met_missed_undecided_and_which_premise_failed() -> None:
    text = " ".join(findings_sentences(_records()))
    assert text.startswith("5 verdicts: 2 met, 1 missed, 1 inconclusive, 1 not testable.")
    # Comparisons with an interval come before point targets, with estimate [low, high, level].
    met = text[text.index("Met") : text.index("Missed")]
    assert met.index("dni-m1 faster than torch-zb-m1 (1.22 [1.2, 1.33, 75%])") < met.index(
        "dni-m8 pipeline efficiency (0.94)"
    )
    assert "Missed (on the other side of the goal): dni-m1 faster than single-all-m1" in text
    assert "Inconclusive" in text and "dni-m8 faster than zb-m8 (0.99 [0.98, 1.07" in text
    assert "zb's lock idle is not below 1f1b's (so not testable: zb beats 1f1b at m=8)" in text
    assert findings_sentences([]) == []


def test_record_of_interval_decides_from_the_whole_interval() -> None:
    words = [r.word for r in _records()]
    assert words == ["met", "met", "inconclusive", "missed", "not testable"]


def test_verdicts_file_has_the_declared_columns(tmp_path: Path) -> None:
    path = writer.write_verdicts(tmp_path, verdict_rows(_records()))
    assert path == tmp_path / VERDICTS
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == VERDICT_COLUMNS
    assert [r["verdict"] for r in rows] == ["met", "met", "inconclusive", "missed", "not testable"]
    assert rows[0]["low"] == "" and rows[0]["method"] == "point"
    assert math.isclose(float(rows[1]["low"]), 1.20) and rows[1]["n"] == "3"
    assert rows[4]["premise"] == "zb's lock idle is not below 1f1b's"
