"""Recurrent benchmarks through a session, and the rnn report section with its targets."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from dnibench.bench.session import BenchItem, run_session
from dnibench.recurrent.bench import CURVE_FIELDS
from dnibench.recurrent.config import RecurrentConfig
from dnibench.recurrent.report import BPC_FIGURE, COPY_FIGURE, rnn_section
from dnibench.recurrent.targets import Target, copy_targets, lm_targets
from dnibench.report.sections import extra_sections


def lm_item(tmp_path: Path, name: str, **changes: object) -> BenchItem:
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
    return BenchItem(name=name, kind="rnn", repeats=2, recurrent=config)


def copy_item(name: str, **changes: object) -> BenchItem:
    config = RecurrentConfig(
        kind="copy", width=16, batch_size=4, chars=600, eval_every=200, **changes
    )  # type: ignore[arg-type]
    return BenchItem(name=name, kind="copy", recurrent=config)


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
    assert section is not None and set(section.plots) == {BPC_FIGURE, COPY_FIGURE}
    assert all(path.is_file() for path in section.plots.values())
    markdown = section.markdown
    assert "trained on" in markdown or "the first" in markdown
    assert "Ratios against t40" in markdown and "| d8 |" in markdown
    assert "copy T=2: longest solved, dni minus tbptt" in markdown
    assert any("Recurrent networks" in s.markdown for s in extra_sections(out))


def test_no_section_without_recurrent_benchmarks(tmp_path: Path) -> None:
    assert rnn_section(tmp_path) is None


def frame(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["benchmark", "metric", "repeat", "value"])


def test_lm_targets_read_the_flagship_comparison() -> None:
    rows = []
    for repeat, (d, s, b) in enumerate(
        [(1.50, 1.60, 1.49), (1.52, 1.62, 1.51), (1.51, 1.61, 1.50)]
    ):
        rows += [("d8", "bpc", repeat, d), ("t8", "bpc", repeat, s), ("t40", "bpc", repeat, b)]
        rows += [
            ("d8", "samples_to_target", repeat, 100.0 + repeat),
            ("t40", "samples_to_target", repeat, 200.0 + repeat),
            ("d8", "seconds_to_target", repeat, 10.0),
            ("t40", "seconds_to_target", repeat, 12.0),
        ]
    targets = {t.name.split(":")[0]: t for t in lm_targets(frame(rows), "d8", "t8", "t40")}
    close = next(t for t in lm_targets(frame(rows), "d8", "t8", "t40") if "minus t40" in t.name)
    assert close.measured == pytest.approx(0.01) and close.met
    chars = targets["characters to the suite's target_bpc"]
    assert chars.measured == pytest.approx(101 / 201) and chars.met
    seconds = targets["seconds to the suite's target_bpc"]
    assert seconds.measured == pytest.approx(10 / 12) and seconds.met is False
    assert seconds.missed_by == pytest.approx(10 / 12 - 0.6)
    assert "| missed |" in seconds.row() and "cheaper SG" in seconds.row()
    spread = next(t for t in lm_targets(frame(rows), "d8", "t8", "t40") if "spread" in t.name)
    assert spread.measured == pytest.approx(0.10) and spread.goal == pytest.approx(0.02)
    assert spread.met


def test_targets_without_their_benchmarks_are_left_out_or_unmeasured() -> None:
    rows = [
        ("d8", "bpc", 0, 1.5),
        ("d8", "samples_to_target", 0, math.nan),
        ("t40", "bpc", 0, 1.5),
        ("t40", "samples_to_target", 0, 100.0),
    ]
    targets = lm_targets(frame(rows), "d8", None, "t40")
    assert len(targets) == 3 and not any("spread" in t.name for t in targets)
    assert next(t for t in targets if "characters" in t.name).met is None
    assert lm_targets(frame(rows), None, "t8", "t40") == []


def test_copy_targets_need_dni_strictly_longer() -> None:
    copy = pd.DataFrame(
        [
            ("copy", "tbptt", 2, 0, 3.0),
            ("copy", "dni-tbptt", 2, 0, 3.0),
            ("copy", "tbptt", 3, 0, 2.0),
            ("copy", "dni-tbptt", 3, 0, 5.0),
        ],
        columns=["task", "regime", "truncation", "repeat", "longest_solved"],
    )
    tie, win = copy_targets(copy)
    assert tie.met is False and "tie" in tie.row()
    assert win.met and win.measured == 3.0


def test_target_comparators() -> None:
    assert Target("a", 0.5, 0.6, "<=", "").met
    assert Target("a", 0.6, 0.6, "<", "").met is False
    assert Target("a", math.nan, 0.6, "<=", "").met is None


def _curve(name: str, repeat: int, bpcs: list[float], seconds_per_point: float) -> list[dict]:
    return [
        {"benchmark": name, "repeat": repeat, "chars": 100 * i, "seconds": seconds_per_point * i,
         "test_bpc": bpc}
        for i, bpc in enumerate(bpcs)
    ]  # fmt: skip


def test_reach_targets_use_the_worst_final_bpc_of_the_base() -> None:
    from dnibench.recurrent.targets import reach_targets

    rows = [
        *_curve("t40", 0, [3.0, 2.5, 2.2, 2.0], 1.0),  # final 2.0
        *_curve("t40", 1, [3.0, 2.6, 2.3, 2.1], 1.0),  # final 2.1: the target
        *_curve("d8", 0, [3.0, 2.05, 1.9, 1.8], 4.0),  # reaches 2.1 at 100 chars, 4 s
        *_curve("d8", 1, [3.0, 2.4, 2.1, 1.9], 4.0),  # at 200 chars, 8 s
    ]
    chars, seconds = reach_targets(pd.DataFrame(rows), "d8", "t40")
    assert "2.100" in chars.name
    # base reaches 2.1 at 300 chars (seed 0) and 300 chars (seed 1): median 300, 3 s
    assert chars.measured == pytest.approx(150 / 300) and chars.met
    assert seconds.measured == pytest.approx(6.0 / 3.0) and not seconds.met
    assert reach_targets(pd.DataFrame(rows), None, "t40") == []
