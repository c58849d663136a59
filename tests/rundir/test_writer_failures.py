"""An append that fails part way (a full disk) leaves the CSV as it was: parseable, never empty."""

from __future__ import annotations

import csv
import errno
import os
from pathlib import Path

import pytest

from dnibench.rundir import layout, writer

ROW = {"benchmark": "a", "status": "ok", "seconds": 1, "message": ""}


def _failing_write(monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """os.write lands ``after`` bytes, then the disk is full."""
    real = os.write

    def write(descriptor: int, data: bytes) -> int:
        if after == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "write", fail)
        return real(descriptor, bytes(data)[:after])

    def fail(descriptor: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("after", [0, 7])
def test_a_new_csv_that_cannot_be_written_is_not_left_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    _failing_write(monkeypatch, after)
    with pytest.raises(OSError, match="No space"):
        writer.append_status(tmp_path, [ROW])
    assert not (tmp_path / layout.STATUS).exists()


def test_a_failed_append_cuts_the_half_row_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer.append_status(tmp_path, [ROW])
    before = (tmp_path / layout.STATUS).read_bytes()
    _failing_write(monkeypatch, 5)
    with pytest.raises(OSError, match="No space"):
        writer.append_status(tmp_path, [{**ROW, "benchmark": "b"}])
    monkeypatch.undo()
    assert (tmp_path / layout.STATUS).read_bytes() == before
    with (tmp_path / layout.STATUS).open() as handle:
        assert [row["benchmark"] for row in csv.DictReader(handle)] == ["a"]


def test_the_error_log_appends_and_refuses_a_link(tmp_path: Path) -> None:
    writer.append_error(tmp_path, "one\n")
    writer.append_error(tmp_path, "two\n")
    assert (tmp_path / layout.ERRORS).read_text() == "one\ntwo\n"
    elsewhere = tmp_path / "elsewhere.log"
    elsewhere.write_text("")
    (tmp_path / layout.ERRORS).unlink()
    (tmp_path / layout.ERRORS).symlink_to(elsewhere)
    with pytest.raises(Exception, match="symbolic link"):
        writer.append_error(tmp_path, "three\n")
    assert elsewhere.read_text() == ""
