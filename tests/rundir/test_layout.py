"""The layout is written once: names, columns, the prose and the format version agree."""

from __future__ import annotations

from pathlib import Path

from dnibench.rundir import layout

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_file_of_a_run_is_described_once() -> None:
    described = [name.split("/")[0] for name, _ in layout.LAYOUT]
    assert len(described) == len(set(described))
    for name in (
        layout.CONFIG, layout.FINGERPRINT, layout.RESULTS, layout.CURVES, layout.RNN_CURVES,
        layout.STATUS, layout.CORPUS, layout.TRACES, layout.PYTEST_BENCHMARK, layout.REPORT_MD,
        layout.REPORT_HTML, layout.PLOTS, layout.GPU_FACTS, layout.ERRORS,
    ):  # fmt: skip
        assert name in described, name


def test_the_description_names_every_result_column_and_the_trace_form() -> None:
    text = layout.describe_layout()
    assert all(column in text for column in layout.RESULT_COLUMNS)
    assert f"{layout.TRACES}/NAME{layout.TRACE_SUFFIX}" in text
    assert text.count("\n") == len(layout.LAYOUT) - 1


def test_columns_start_with_the_benchmark_and_have_no_duplicates() -> None:
    for columns in (
        layout.RESULT_COLUMNS, layout.CURVE_COLUMNS, layout.RNN_CURVE_COLUMNS,
        layout.STATUS_COLUMNS,
    ):  # fmt: skip
        assert columns[0] == "benchmark"
        assert len(set(columns)) == len(columns)
    assert set(layout.STATUS_REQUIRED) <= set(layout.STATUS_COLUMNS)


def test_format_version_and_trace_names() -> None:
    assert layout.FORMAT_VERSION == 1 and layout.LEGACY_VERSION == 0
    assert layout.trace_name("gpipe-m8-r0") == "gpipe-m8-r0.json.gz"
    assert set(layout.DERIVED_KINDS) == {"simulation", "crosscheck", "gate-study"}


def test_the_readme_lists_the_files_the_layout_names() -> None:
    text = README.read_text(encoding="utf-8")
    for name in (layout.CONFIG, layout.RESULTS, layout.STATUS, layout.FINGERPRINT):
        assert name in text, f"README.md does not mention {name}"
