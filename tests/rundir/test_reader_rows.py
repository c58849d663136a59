"""Rows of results.csv are validated when read; ratios and --only are read back from config.json."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.rundir.config import parse_config, parse_ratios
from dnibench.rundir.layout import CONFIG, RESULTS
from dnibench.rundir.reader import read_ratios, read_results

FIXTURE = Path(__file__).parent.parent / "fixtures" / "pipeline-run"


def _copy(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    return run


def test_a_row_cut_off_mid_number_names_file_line_and_fix(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    text = (run / RESULTS).read_text()
    last = text.count("\n")
    row_start = text.rstrip("\n").rindex("\n") + 1
    fields = text[row_start:].split(",")
    assert len(fields[7]) > 2
    cut = text[:row_start] + ",".join([*fields[:7], fields[7][:2]])  # mid-number, no newline
    (run / RESULTS).write_text(cut)
    with pytest.raises(UserError) as err:
        read_results(run)
    message = str(err.value)
    assert f"{run / RESULTS} line {last} is cut off (has 8 fields where the header has 9" in message
    assert "delete that partial last line" in message


def test_a_wide_row_or_a_short_middle_row_is_corrupt(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    lines = (run / RESULTS).read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 2)[0]
    (run / RESULTS).write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"line 3 has 7 fields where the header has 9: the file"):
        read_results(run)


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    """The line an editor shows: a blank line before the bad row shifts it."""
    run = _copy(tmp_path)
    lines = (run / RESULTS).read_text().splitlines()
    parts = lines[3].split(",")
    parts[7] = "fast"
    lines[3] = ",".join(parts)
    lines.insert(1, "")
    (run / RESULTS).write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="line 5: value 'fast' is not a number"):
        read_results(run)


def test_nan_is_kept_and_inf_is_refused_only_when_finite_is_asked(tmp_path: Path) -> None:
    run = _copy(tmp_path)
    lines = (run / RESULTS).read_text().splitlines()
    for index, value in ((1, "nan"), (2, ""), (3, "inf")):
        parts = lines[index].split(",")
        parts[7] = value
        lines[index] = ",".join(parts)
    (run / RESULTS).write_text("\n".join(lines) + "\n")
    frame = read_results(run)
    assert math.isnan(frame["value"].iloc[0]) and math.isnan(frame["value"].iloc[1])
    assert math.isinf(frame["value"].iloc[2])
    with pytest.raises(UserError, match="line 4: value inf is not finite"):
        read_results(run, finite=True)


def test_the_fixture_reads_as_before() -> None:
    frame = read_results(FIXTURE, finite=True)
    assert len(frame) == (FIXTURE / RESULTS).read_text().count("\n") - 1


@pytest.mark.parametrize(
    ("ratios", "message"),
    [
        ([{"name": "r", "numerator": "a", "denominator": "b", "metrc": "wall"}],
         "ratio 1 ('r') has an unknown key 'metrc' (did you mean 'metric'?)"),
        ([{"name": "r", "numerator": "a"}], "ratio 1 ('r') lacks the key 'denominator'"),
        ([{"name": "r", "numerator": "a", "denominator": 3}], "needs a name as text for"),
        (["r"], "ratio 1 must be an object"),
        ({"name": "r"}, "'ratios' must be a list"),
    ],
)  # fmt: skip
def test_bad_ratios_name_the_file_and_the_key(tmp_path: Path, ratios: object, message: str) -> None:
    (tmp_path / CONFIG).write_text(json.dumps({"format_version": 1, "ratios": ratios}))
    with pytest.raises(UserError) as err:
        read_ratios(tmp_path)
    assert str(tmp_path / CONFIG) in str(err.value) and message in str(err.value)


def test_good_ratios_read_typed() -> None:
    (ratio,) = parse_ratios(
        [{"name": "r", "numerator": "a", "denominator": "b", "metric": "wall"}], "config.json"
    )
    assert (ratio.name, ratio.numerator, ratio.denominator, ratio.metric) == ("r", "a", "b", "wall")
    assert parse_ratios(None, "x") == ()


@pytest.mark.parametrize(
    ("document", "only"),
    [
        ({"only": ["gpipe-*", "dni-m4"]}, ("gpipe-*", "dni-m4")),
        ({"command": "dnibench run quick --only 'gpipe-*,dni-m4' --repeats 2"},
         ("gpipe-*", "dni-m4")),
        ({"command": "dnibench run quick --only=dni-m4"}, ("dni-m4",)),
        ({"command": "dnibench run quick --repeats 2"}, ()),
        ({}, ()),
    ],
)  # fmt: skip
def test_only_is_recorded_or_read_from_the_command(document: dict, only: tuple) -> None:
    assert parse_config(document).only == only
