"""``dnibench bench``: flags on top of the pipeline suite's base model, read from the suite file."""

from __future__ import annotations

import pytest

from dnibench.cli import build_parser
from dnibench.cli.bench import BASE_BENCHMARK, bench_spec, pipeline_base
from dnibench.errors import UserError
from dnibench.suites import load_suite


def _spec(*flags: str):
    return bench_spec(build_parser().parse_args(["bench", *flags]))


def test_the_base_is_the_suite_files_defaults() -> None:
    base = pipeline_base()
    suite = load_suite("pipeline")
    assert base == suite.item(BASE_BENCHMARK).spec
    # Every pipeline benchmark of the suite (the gpt-* section has its own model) is the base
    # with only its grid keys changed.
    for item in (item for item in suite.items if not item.name.startswith("gpt-")):
        assert item.spec is not None
        keys = {"name", "mode", "microbatches", "threads", "spans", "slow_stage", "slow_factor"}
        assert item.spec.with_(**{k: getattr(base, k) for k in keys}) == base, item.name


def test_flags_not_given_keep_the_suites_values() -> None:
    base = pipeline_base()
    spec = _spec("--mode", "dni")
    assert spec == base.with_(name="dni-k2-m8", mode="dni", microbatches=8)
    spec = _spec("--mode", "1f1b", "--steps", "6", "--warmup", "2", "--microbatches", "4")
    assert (spec.name, spec.steps, spec.warmup, spec.microbatches) == ("1f1b-k2-m4", 6, 2, 4)
    assert (spec.staleness, spec.timeout_s, spec.balance) == (
        base.staleness, base.timeout_s, base.balance,
    )  # fmt: skip


def test_another_stage_count_drops_the_suites_balance() -> None:
    spec = _spec("--mode", "gpipe", "--stages", "3")
    assert (spec.stages, spec.balance, spec.name) == (3, None, "gpipe-k3-m8")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--timeout", "inf"], "--timeout: must be a finite number, got inf"),
        (["--timeout", "1e300"], "--timeout: must be > 0 and <= 86400"),
        (["--slow-stage", "1", "--slow-factor", "nan"], "--slow-factor: must be a finite number"),
    ],
)
def test_numbers_are_checked_like_the_suite_keys(flags: list[str], message: str) -> None:
    """Issue 20, defect 13: ``timeout = inf`` crashed the ranks with OverflowError."""
    with pytest.raises(UserError, match=message):
        _spec("--mode", "dni", *flags)
