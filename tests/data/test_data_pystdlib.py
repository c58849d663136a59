"""The default corpus: the Python library's source, read deterministically, tests excluded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dnibench.data.corpus import load_pystdlib
from dnibench.data.pystdlib import (
    FILE_SEPARATOR,
    corpus_hash,
    excluded,
    read_stdlib,
    split_of,
    stdlib_files,
)
from dnibench.errors import UserError

KEPT = [f"mod{i}.py" for i in range(40)] + ["pkg/__init__.py", "pkg/sub/deep.py"]
LEFT_OUT = [
    "test/test_os.py",
    "pkg/tests/helper.py",
    "idlelib/idle_test/x.py",
    "site-packages/thirdparty.py",
    "pkg/test_thing.py",
    "pydoc_data/topics.py",
    "encodings/cp1252.py",
    "_sysconfigdata__linux_x86_64-linux-gnu.py",
    "__pycache__/mod0.py",
]


def make_library(root: Path, order: list[str]) -> None:
    for relative in order:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {relative}\nx = {len(relative)}\n")
    (root / "notes.txt").write_text("not python\n")


def test_exclusion_rules() -> None:
    assert not any(excluded(path) for path in KEPT)
    assert all(excluded(path) for path in LEFT_OUT)


def test_split_is_a_stable_hash_of_the_path_near_90_5_5() -> None:
    names = [f"lib/module_{i}.py" for i in range(4000)]
    shares = {split: sum(split_of(n) == split for n in names) / 4000 for split in (
        "train", "valid", "test")}  # fmt: skip
    assert 0.87 < shares["train"] < 0.93 and 0.03 < shares["valid"] < 0.07
    assert split_of("os.py") == split_of("os.py")


def test_reading_is_deterministic_and_ignores_file_system_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    make_library(first, KEPT + LEFT_OUT)
    make_library(second, list(reversed(KEPT + LEFT_OUT)))
    one, two = read_stdlib(first), read_stdlib(second)
    assert one.texts == two.texts and corpus_hash(one.texts) == corpus_hash(two.texts)
    assert stdlib_files(first) == sorted(KEPT)
    text = "".join(one.texts.values())
    assert "test_os" not in text and "thirdparty" not in text and "not python" not in text
    assert sum(one.files.values()) == len(KEPT)
    assert text.count(FILE_SEPARATOR) == len(KEPT)


def test_a_changed_file_changes_the_hash(tmp_path: Path) -> None:
    make_library(tmp_path, KEPT)
    before = corpus_hash(read_stdlib(tmp_path).texts)
    (tmp_path / "mod3.py").write_text("y = 1\n")
    assert corpus_hash(read_stdlib(tmp_path).texts) != before


def test_missing_or_tiny_library_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"does not exist.*text_path"):
        read_stdlib(tmp_path / "nowhere")
    make_library(tmp_path, ["only.py"])
    with pytest.raises(UserError, match="no file to split"):
        read_stdlib(tmp_path)


def test_this_interpreter_library_loads_with_provenance() -> None:
    corpus = load_pystdlib()
    provenance = corpus.provenance
    assert provenance["corpus"] == "pystdlib" and provenance["python"]
    assert provenance["chars"]["train"] > 10 * provenance["chars"]["test"] > 0
    assert set(provenance["files"]) == {"train", "valid", "test"}
    assert len(provenance["sha256"]) == 64
    assert not os.path.isabs(str(provenance.get("folder", "")))
