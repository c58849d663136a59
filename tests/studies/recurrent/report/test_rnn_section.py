"""Recurrent benchmarks through a session, and the rnn report section with its targets."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from dnibench.bench.session import run_session
from dnibench.studies.item import Item
from dnibench.studies.recurrent.bench import CURVE_FIELDS
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.report.section import (
    BPC_FIGURE,
    COPY_FIGURE,
    SG_FIGURE,
    rnn_section,
)
from dnibench.studies.recurrent.report.targets import Target, copy_targets
from dnibench.studies.registry import extra_sections


def lm_item(tmp_path: Path, name: str, **changes: object) -> Item:
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 60)
    config = RecurrentConfig(
        kind="rnn",
        data="text",
        text_path=text,
        width=16,
        batch_size=4,
        chars=1200,
        eval_every=400,
        eval_chars=300,
        target_bpc=4.0,
        **changes,
    )  # type: ignore[arg-type]
    return Item(name=name, kind="rnn", repeats=2, recurrent=config)


def copy_item(name: str, **changes: object) -> Item:
    config = RecurrentConfig(
        kind="copy", width=16, batch_size=4, chars=600, eval_every=200, **changes
    )  # type: ignore[arg-type]
    return Item(name=name, kind="copy", recurrent=config)


def test_session_writes_rows_curves_and_the_report_section(tmp_path: Path) -> None:
    items = [
        lm_item(tmp_path, "t8", mode="tbptt", truncation=8),
        lm_item(tmp_path, "t40", mode="tbptt", truncation=40),
        lm_item(tmp_path, "d8", mode="dni-tbptt", truncation=8),
        copy_item("c-t", mode="tbptt", truncation=2),
        copy_item("c-d", mode="dni-tbptt", truncation=2),
    ]
    out = tmp_path / "run"
    run_session(items, out)
    status = list(csv.DictReader((out / "status.csv").open()))
    assert [row["status"] for row in status] == ["ok"] * 8
    results = pd.read_csv(out / "results.csv")
    bpc = results[results["metric"] == "bpc"]
    assert sorted(bpc.groupby("benchmark")["repeat"].nunique().to_dict().items()) == [
        ("d8", 2),
        ("t40", 2),
        ("t8", 2),
    ]
    assert set(results[results["benchmark"] == "d8"]["mode"]) == {"dni-tbptt"}
    assert set(results[results["benchmark"] == "c-d"]["metric"]) >= {"longest_solved", "chars"}
    curves = pd.read_csv(out / "rnn_curves.csv")
    assert list(curves.columns) == CURVE_FIELDS
    lm = curves[curves["benchmark"] == "t8"]
    assert lm["chars"].iloc[0] == 0 and lm["test_bpc"].notna().all()  # untrained point first
    section = rnn_section(out)
    assert section is not None and set(section.plots) == {BPC_FIGURE, SG_FIGURE, COPY_FIGURE}
    assert all(path.is_file() for path in section.plots.values())
    markdown = section.markdown
    assert "Corpus: **text**" in markdown and "best-validation evaluation" in markdown
    assert "| d8 |" in markdown and "Premise (tbptt-40 beats tbptt-8" in markdown
    # two seeds only: the premise cannot be judged, so no DNI-vs-tbptt-40 verdict is "met"
    assert "not testable: needs 3 seeds" in markdown
    assert set(curves[curves["benchmark"] == "d8"]["sg_cosine"].dropna().index)
    assert (out / "corpus.json").is_file() and str(tmp_path) not in (
        out / "corpus.json"
    ).read_text()
    assert "copy T=2: longest solved, dni minus tbptt" in markdown
    assert any("Recurrent networks" in s.markdown for s in extra_sections(out))


def test_no_section_without_recurrent_benchmarks(tmp_path: Path) -> None:
    assert rnn_section(tmp_path) is None


def frame(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["benchmark", "metric", "repeat", "value"])


def test_copy_targets_need_dni_strictly_longer() -> None:
    copy = pd.DataFrame(
        [
            (task, regime, t, seed, value)
            for seed in range(3)  # three seeds: the fewest a verdict over seeds reads
            for task, regime, t, value in (
                ("copy", "tbptt", 2, 2.0),  # tbptt grows with T: the premise holds
                ("copy", "dni-tbptt", 2, 2.0),
                ("copy", "tbptt", 3, 3.0),
                ("copy", "dni-tbptt", 3, 5.0),
            )
        ],
        columns=["task", "regime", "truncation", "repeat", "longest_solved"],
    )
    tie, win = copy_targets(copy)
    assert tie.met is False and "tie" in tie.row()
    assert win.met and win.measured == 2.0


def test_target_comparators() -> None:
    assert Target("a", 0.5, 0.6, "<=", "").met
    assert Target("a", 0.6, 0.6, "<", "").met is False
    assert Target("a", math.nan, 0.6, "<=", "").met is None
    assert Target("a", 0.6, 0.6, ">=", "").met
    untestable = Target("a", 0.5, 0.6, "<=", "", untestable="no premise")
    assert untestable.met is None and untestable.verdict == "not testable: no premise"
    assert "| met |" not in untestable.row() and "not testable: no premise" in untestable.row()
