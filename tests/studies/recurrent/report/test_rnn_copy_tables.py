"""The copy table: the paper's layout (rows task, columns T, cells tbptt / dni) from tidy rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dnibench.report.tables import MISSING
from dnibench.studies.recurrent.report.copy_tables import copy_frame, copy_lines


@dataclass(frozen=True)
class FakeBench:
    name: str
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def regime(self) -> str:
        return str(self.spec["mode"])

    @property
    def truncation(self) -> int:
        return int(self.spec["truncation"])


def hand_made() -> tuple[pd.DataFrame, list[FakeBench]]:
    """Two tasks x two regimes x T = 2, 8, three seeds each, with known lengths and stalls."""
    solved = {  # (task, mode, T) -> longest solved per seed, stalled per seed
        ("copy", "tbptt", 2): ([2, 3, 2], [1, 1, 1]),
        ("copy", "dni-tbptt", 2): ([5, 4, 7], [0, 1, 0]),
        ("copy", "tbptt", 8): ([9, 9, 9], [1, 1, 0]),
        ("copy", "dni-tbptt", 8): ([12, 10, 11], [0, 0, 0]),
        ("repeat-copy", "tbptt", 2): ([1, 2, 1], [1, 1, 1]),
        ("repeat-copy", "dni-tbptt", 2): ([3, 3, 3], [1, 0, 1]),
        ("repeat-copy", "tbptt", 8): ([4, 6, 5], [0, 1, 1]),
        ("repeat-copy", "dni-tbptt", 8): ([6, 6, 8], [0, 0, 1]),
    }
    rows, benches = [], []
    for (task, mode, t), (lengths, stalls) in solved.items():
        name = f"{task}-{mode}-T{t}"
        spec = {"task": task, "mode": mode, "truncation": t, "width": 64, "chars": 1000,
                "symbols": 8, "solve_bits": 0.15, "solve_window": 5, "max_repeats": 4}  # fmt: skip
        benches.append(FakeBench(name, spec))
        for repeat, (length, stall) in enumerate(zip(lengths, stalls, strict=True)):
            for metric, value in (("longest_solved", length), ("stalled", stall)):
                rows.append({"benchmark": name, "mode": mode, "metric": metric,
                             "repeat": repeat, "value": float(value)})  # fmt: skip
    rows.append({"benchmark": "ptb-tbptt-T8", "mode": "tbptt", "metric": "bpc", "repeat": 0,
                 "value": 2.0})  # fmt: skip
    return pd.DataFrame(rows), benches


def test_the_table_has_the_papers_layout() -> None:
    results, benches = hand_made()
    lines, _ = copy_lines(results, benches)
    table = lines[lines.index("| task | T = 2 | T = 8 |") :]
    assert table[1] == "|---|---:|---:|"
    assert table[2] == "| Copy | 2 (2-3) / 5 (4-7) | 9 (9-9) / 11 (10-12) |"
    assert table[3] == "| Repeat Copy | 1 (1-2) / 3 (3-3) | 5 (4-6) / 6 (6-8) |"
    stalls = lines[lines.index(table[3]) + 1 :]
    start = stalls.index("| task | T = 2 | T = 8 |")
    assert stalls[start + 2] == "| Copy | 3/3 / 1/3 | 2/3 / 0/3 |"
    assert stalls[start + 3] == "| Repeat Copy | 3/3 / 2/3 | 2/3 / 1/3 |"
    text = "\n".join(lines)
    assert (
        "3 seeds per cell" in text
        and "1,000 training characters" in text
        and "0.15 bits" in text
        and "min(N, 4)" in text
    )


def test_the_frame_feeds_the_targets_and_plots_and_keeps_stalls() -> None:
    results, benches = hand_made()
    frame = copy_frame(results, benches)
    assert len(frame) == 24
    assert list(frame.columns[:5]) == ["task", "regime", "truncation", "repeat", "longest_solved"]
    row = frame[(frame.task == "copy") & (frame.regime == "dni-tbptt") & (frame.truncation == 2)]
    assert row["longest_solved"].tolist() == [5.0, 4.0, 7.0]
    assert row["stalled"].tolist() == [0.0, 1.0, 0.0]


def test_no_copy_results_give_no_lines_and_a_missing_cell_shows_a_dash() -> None:
    results, benches = hand_made()
    assert copy_lines(results.iloc[0:0], benches)[0] == []
    without = results[results["benchmark"] != "copy-dni-tbptt-T8"]
    lines, _ = copy_lines(without, benches)
    assert f"| Copy | 2 (2-3) / 5 (4-7) | 9 (9-9) / {MISSING} |" in lines


def _copy_frame(cells: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    """(regime, T) -> longest solved per seed, on the copy task."""
    rows = [
        {"task": "copy", "regime": regime, "truncation": t, "repeat": seed,
         "longest_solved": value, "stalled": 0.0}
        for (regime, t), values in cells.items()
        for seed, value in enumerate(values)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_copy_verdicts_are_paired_by_seed_and_premise_checked() -> None:
    from dnibench.studies.recurrent.report.copy_tables import copy_targets

    grows = _copy_frame({
        ("tbptt", 2): [2, 3, 2, 3, 2], ("dni-tbptt", 2): [3, 4, 3, 4, 3],  # +1 on every seed
        ("tbptt", 8): [5, 6, 4, 5, 6], ("dni-tbptt", 8): [6, 6, 5, 5, 7],  # 1, 0, 1, 0, 1
    })  # fmt: skip
    short, long = copy_targets(grows)
    assert short.verdict == "met" and short.measured == 1.0
    assert long.verdict.startswith("inconclusive")  # [0, 1] touches the goal: not shown
    flat = _copy_frame({
        ("tbptt", 2): [3, 3, 3], ("dni-tbptt", 2): [4, 4, 4],
        ("tbptt", 8): [3, 3, 3], ("dni-tbptt", 8): [5, 5, 5],
    })  # fmt: skip
    assert all(
        t.verdict.startswith("not testable: tbptt shows no truncation effect")
        for t in copy_targets(flat)
    )
    one_seed = grows[grows["repeat"] == 0]
    assert all("needs 3 seeds" in t.verdict for t in copy_targets(one_seed))
