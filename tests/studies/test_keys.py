"""Suite keys as data: every number a suite may write is finite and in range (issue 20, 13).

TOML writes ``nan`` and ``inf``; before this check ``timeout_s = inf`` passed
validation and crashed the ranks with OverflowError, and ``sg_scale = nan``
trained to a NaN loss.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dnibench.studies.keys import Key, KeyProblem
from dnibench.suites import KEYS, SuiteError, load_suite

FLOAT_KEYS = sorted({(kind, key.name) for kind, keys in KEYS.items() for key in keys.values()
                     if key.type == "float"})  # fmt: skip


def test_the_kinds_declare_float_keys() -> None:
    names = {name for _, name in FLOAT_KEYS}
    assert {"timeout_s", "sg_scale", "slow_factor", "lr", "split", "target_bpc"} <= names


@pytest.mark.parametrize(("kind", "name"), FLOAT_KEYS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_every_float_key_refuses_nan_and_infinity(kind: str, name: str, value: float) -> None:
    key: Key = KEYS[kind][name]
    with pytest.raises(KeyProblem, match=rf"key '{name}' must be a finite number"):
        key.check(value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("timeout_s = inf", "key 'timeout_s' must be a finite number, got inf"),
        ("timeout_s = 1e300", "key 'timeout_s' must be > 0 and <= 86400"),
        ("sg_scale = nan", "key 'sg_scale' must be a finite number, got nan"),
        ("sg_scale = -1.0", "key 'sg_scale' must be >= 0"),
        ("slow_factor = nan", "key 'slow_factor' must be a finite number"),
        ("slow_factor = 0.5", "key 'slow_factor' must be from 1 to 100"),
        ("lr = -inf", "key 'lr' must be a finite number, got -inf"),
    ],
)
def test_a_suite_with_a_bad_number_names_file_line_and_key(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        f'[suite]\ndescription = "x"\n\n[[benchmark]]\nname = "a"\nkind = "pipeline"\n'
        f'mode = "dni"\n{line}\n'
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert info.value.line == 8 and info.value.key == line.split(" = ")[0]
    assert f's.toml:8: benchmark 1 ("a"): {expected}' in str(info.value)


def test_a_bad_number_in_defaults_points_at_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[suite]\ndescription = "x"\n\n[defaults]\nkind = "rnn"\nsg_scale = nan\n\n'
        '[[benchmark]]\nname = "a"\nmode = "dni-tbptt"\n'
    )
    with pytest.raises(SuiteError, match="must be a finite number") as info:
        load_suite(path)
    assert info.value.line == 6


def test_finite_numbers_in_range_still_load(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[suite]\ndescription = "x"\n\n[[benchmark]]\nname = "a"\nkind = "pipeline"\n'
        'mode = "dni"\ntimeout_s = 86400\nsg_scale = 0.0\nslow_factor = 2\nslow_stage = 1\n'
    )
    spec = load_suite(path).items[0].spec
    assert spec is not None
    assert (spec.timeout_s, spec.sg.scale, spec.slow_factor) == (86400.0, 0.0, 2.0)
