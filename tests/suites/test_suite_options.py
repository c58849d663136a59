"""``dnibench run``'s --out and --repeats, checked before anything runs (issue 20, defect 14)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.suites import load_suite
from dnibench.suites.options import check_applies, check_out, check_repeats


def test_an_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "taken"
    file.write_text("x")
    with pytest.raises(UserError, match=r"--out .*taken is a file, not a folder"):
        check_out(file)
    with pytest.raises(UserError, match=r"taken is a file, so no folder can be made under it"):
        check_out(file / "run")


def test_a_new_or_empty_out_is_accepted_and_not_created(tmp_path: Path) -> None:
    check_out(tmp_path)
    check_out(tmp_path / "a" / "b")
    check_out(Path("relative-run-that-is-not-made"))
    assert not (tmp_path / "a").exists() and not Path("relative-run-that-is-not-made").exists()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs mounted in tmp_path (root with mount rights only; else skipped)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        mounted = None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root and mount rights)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)


def test_an_out_on_a_read_only_file_system_is_refused(read_only: Path) -> None:
    with pytest.raises(UserError, match=r"cannot write in .*ro \(a read-only file system\)"):
        check_out(read_only / "run")
    with pytest.raises(UserError, match=r"a read-only file system"):
        check_out(read_only)


def test_an_out_without_write_permission_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permission bits do not stop writes")
        with pytest.raises(UserError, match=r"cannot write in .*locked \(no write permission\)"):
            check_out(locked / "run")
    finally:
        locked.chmod(0o700)


def test_repeats_are_checked_against_names_and_range() -> None:
    items = load_suite("quick").items
    check_repeats(items, None)
    check_repeats(items, 3)
    with pytest.raises(UserError, match="--repeats must be at least 1, got 0"):
        check_repeats(items, 0)
    long = [replace(items[0], name="x" * 230)]
    check_repeats(long, 1)
    with pytest.raises(UserError, match=r"--repeats 1000: benchmark name 'x+'\.\.\. is 230 bytes"):
        check_repeats(long, 1000)


# Issue 20, point 5: an option that applies to no benchmark of the run is an error, as
# --text-path on a run without an rnn benchmark is.
def test_jobs_on_a_run_without_recurrent_benchmarks_is_refused() -> None:
    pipelines = [item for item in load_suite("quick").items if item.kind == "pipeline"]
    check_applies(pipelines, 1, False, None)
    with pytest.raises(UserError, match="--jobs 2 runs one-thread rnn, copy and train bench"):
        check_applies(pipelines, 2, False, None)
    check_applies(load_suite("rnn").items, 2, False, None)
    check_applies(load_suite("lm").items, 2, False, None)  # one-thread training runs


def test_jobs_on_training_runs_of_more_than_one_thread_is_refused() -> None:
    items = load_suite("lm").items
    many = [replace(i, train=replace(i.train, threads=2)) for i in items if i.train is not None]
    with pytest.raises(UserError, match="--jobs 2"):
        check_applies(many, 2, False, None)


def test_all_traces_on_a_run_with_one_launch_per_pipeline_is_refused() -> None:
    pipelines = load_suite("quick").items
    check_applies(pipelines, 1, True, 2)
    with pytest.raises(UserError, match=r"--all-traces .* and this run runs each once"):
        check_applies(pipelines, 1, True, 1)
    with pytest.raises(UserError, match=r"--all-traces .* and this run holds none"):
        check_applies(load_suite("rnn").items, 2, True, 3)


def test_the_run_command_checks_them_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dnibench.cli import main

    out = tmp_path / "run"
    assert main(["run", "quick", "--only", "gpipe-m4", "--jobs", "2", "--out", str(out)]) == 2
    assert "--jobs 2" in capsys.readouterr().err
    assert not out.exists()
