"""The GPU check's priorities page on hand-made group lines and run directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnibench.rundir import writer
from dnibench.studies.gpu.check_summary import GROUP_FIELDS, read_groups, summary_markdown


def _lines(path: Path, rows: list[tuple[object, ...]]) -> Path:
    path.write_text("".join("\t".join(str(v) for v in row) + "\n" for row in rows))
    return path


def _run(reports: Path, name: str, statuses: dict[str, str], chars_s: dict[str, float]) -> None:
    out = reports / name
    writer.prepare(out, {"benchmarks": []}, {})
    writer.append_status(
        out,
        [{"benchmark": b, "status": s, "seconds": "1", "message": ""} for b, s in statuses.items()],
    )
    base = {"stages": 1, "microbatches": 1, "stage": -1, "repeat": 0}
    rows = []
    for bench, rate in chars_s.items():
        mode = "dni-tbptt" if "dni" in bench else "tbptt"
        for metric, value, unit in (("throughput", rate, "chars/s"), ("wall_clock", 1.0, "flag")):
            rows.append({**base, "benchmark": bench, "mode": mode, "metric": metric,
                         "value": value, "unit": unit})  # fmt: skip
    if rows:
        writer.append_results(out, rows)


CUT = "repeats 3 -> 1"


def test_the_page_names_budgets_skips_and_every_cut(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _run(reports, "q", {"streams-dni-m8": "ok", "streams-gpipe-m8": "interrupted"}, {})
    _run(reports, "r", {"gpu-rnn-tbptt-T8": "ok", "gpu-rnn-dni-T8": "ok"},
         {"gpu-rnn-tbptt-T8": 400_000.0, "gpu-rnn-dni-T8": 300_000.0})  # fmt: skip
    _run(reports, "r-side", {"gpu-rnn-tbptt-T8": "ok"}, {"gpu-rnn-tbptt-T8": 200_000.0})
    groups = read_groups(
        _lines(
            tmp_path / "groups.tsv",
            [
                (3, "rnn alone", "fp32", 60, 70, 31, "ok", "r", ""),
                (1, "streams rows", "fp32, TF32 off", 120, 150, 151, "exit 124", "q", CUT),
                (2, "transformer", "bf16", 60, 0, 0, "skipped", "", "not enabled"),
                (3, "rnn side by side", "fp32", 0, 39, 30, "ok", "r-side", ""),
                (4, "ttq GPU profile", "its", 0, 0, 0, "skipped", "", "cut: 12 s left (< 30)"),
            ],
        )
    )  # fmt: skip
    assert [g.priority for g in groups] == [1, 2, 3, 3, 4]
    page = summary_markdown(reports, groups, 330, 318)
    assert "| 1 | streams rows | fp32, TF32 off | 120 | 150 | 151 | exit 124 |" in page
    assert "1 interrupted, 1 ok" in page
    assert "repeats 3 -> 1; cut by the clock: streams-gpipe-m8" in page
    assert "| 2 | transformer | bf16 | 60 | - | - | skipped | - | not enabled |" in page
    assert "| 3 | rnn side by side | fp32 | the group's |" in page
    assert "| 4 | ttq GPU profile | its | rest | - | - | skipped | - | cut: 12 s left" in page
    assert "The whole check took 318 s." in page
    assert page.count("### rnn characters per second") == 1
    assert "| gpu-rnn-tbptt-T8 | tbptt | 400,000 | 200,000 | 0.50 |" in page
    assert "| gpu-rnn-dni-T8 | dni-tbptt | 300,000 | - | - |" in page
    assert "**no verdict**" in page and "seeds 0-4" in page and "wall seconds" in page


def test_without_rnn_results_the_page_says_so(tmp_path: Path) -> None:
    groups = read_groups(
        _lines(tmp_path / "g.tsv", [(3, "rnn alone", "fp32", 60, 20, 20, "exit 124", "gone", "")])
    )
    page = summary_markdown(tmp_path, groups, 330, 40)
    assert "no run directory" in page and "No rnn benchmark finished" in page


def test_a_malformed_group_line_is_named(tmp_path: Path) -> None:
    path = _lines(tmp_path / "g.tsv", [(1, "too few")])
    with pytest.raises(ValueError, match=f"needs {len(GROUP_FIELDS)} fields"):
        read_groups(path)


def test_the_dtype_a_run_recorded_wins_over_the_scripts_words(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    entry = {"name": "streams-dni-m8", "kind": "pipeline", "spec": {"dtype": "bf16"}}
    writer.prepare(reports / "q", {"benchmarks": [entry]}, {})
    writer.append_status(
        reports / "q", [{"benchmark": "streams-dni-m8", "status": "ok", "seconds": "1"}]
    )
    lines = [
        (1, "streams rows", "fp32, TF32 off", 120, 150, 60, "ok", "q", ""),
        (3, "rnn alone", "fp32 (cuDNN)", 60, 70, 31, "ok", "gone", ""),
    ]
    page = summary_markdown(reports, read_groups(_lines(tmp_path / "g.tsv", lines)), 330, 99)
    assert "| 1 | streams rows | bf16 (as run) |" in page
    assert "| 3 | rnn alone | fp32 (cuDNN) |" in page  # nothing recorded: the script's words
