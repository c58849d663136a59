"""The one registration point: studies found by folder, their kinds, keys and sections in order."""

from __future__ import annotations

import pytest

from dnibench.errors import UserError
from dnibench.studies import registry
from dnibench.studies.item import Item
from dnibench.suites.schema import KEYS, KINDS


def test_every_study_folder_is_found_in_rank_order() -> None:
    assert [study.name for study in registry.studies()] == [
        "pipeline", "train", "recurrent", "ttq", "kmap", "gpu", "simulator",
    ]  # fmt: skip
    assert list(registry.kinds()) == ["pipeline", "train", "rnn", "copy", "ttq", "kmap"]


def test_sections_keep_the_report_order() -> None:
    names = [section.__name__ for section in registry.registered_sections()]
    assert names == [
        "_pipeline_targets", "_pipeline_verdicts", "_async_modes", "_mfu", "_straggler",
        "_recurrent", "_feed_forward", "_train_async_modes", "_language_model",
        "_time_to_quality", "_k_map", "_gpu", "_simulated",
    ]  # fmt: skip


def test_the_schema_checks_exactly_the_keys_the_kinds_declare() -> None:
    assert tuple(registry.kinds()) == KINDS
    for name, kind in registry.kinds().items():
        declared = {key.name for key in kind.keys}
        assert set(KEYS[name]) == declared | {"kind", "name", "repeats", "runtime"}


def test_only_one_thread_kinds_run_side_by_side() -> None:
    parallel = [name for name, kind in registry.kinds().items() if kind.parallel]
    # kmap: one-thread, one-process replays
    assert parallel == ["train", "rnn", "copy", "kmap"]
    assert [name for name, kind in registry.kinds().items() if kind.pipeline] == ["pipeline"]


def test_unknown_kind_names_the_close_match() -> None:
    with pytest.raises(UserError, match="pipeline"):
        registry.benchmark_kind("pipelin")


def test_a_study_named_in_the_variable_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.STUDIES_ENV, "no_such_study_package")
    registry.studies.cache_clear()
    try:
        with pytest.raises(UserError, match="no_such_study_package"):
            registry.studies()
    finally:
        monkeypatch.delenv(registry.STUDIES_ENV)
        registry.studies.cache_clear()
    assert registry.studies()


def test_the_item_body_is_the_kind_configuration() -> None:
    from dnibench.runtimes.spec import BenchSpec

    item = Item.of(BenchSpec(name="x", mode="gpipe"))
    assert item.kind == "pipeline" and registry.benchmark_kind("pipeline").body(item) is item.spec
