"""``dnibench run`` treats every benchmark as a unit of failure and always writes the report.

A full disk, an error nobody planned for, a model that cannot be allocated,
every benchmark failing, a Ctrl-C while the report is written, a hang in a
one-process benchmark: each ends that benchmark (or, for a full disk, the
run) with exit 3 and a plain message, never a traceback and exit 1.
"""

from __future__ import annotations

import contextlib
import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dnibench.cli.suites as suites
from dnibench.cli import main
from dnibench.rundir import writer
from dnibench.rundir.layout import ERRORS, REPORT_MD, STATUS

SMALL = """
[suite]
description = "three tiny pipelines on the CPU stand-in"

[defaults]
kind = "pipeline"
mode = "gpipe"
runtime = "streams"
device = "cpu"
nvml = false
width = 8
depth = 2
input_shape = [16]
microbatches = 2
batch_size = 8
steps = 3
warmup = 1
repeats = 1

[[benchmark]]
name = "first"

[[benchmark]]
name = "second"

[[benchmark]]
name = "third"
"""

WIDE = """
[suite]
description = "a train benchmark whose model cannot be allocated, then one that can"

[defaults]
kind = "train"
mode = "backprop"
data = "digits"
model = "mlp"
stages = 3
steps = 2
eval_every = 1
repeats = 1

[[benchmark]]
name = "too-wide"
width = 1_000_000_000

[[benchmark]]
name = "fits"
width = 16
"""

HANG = """
[suite]
description = "a one-process benchmark that hangs, with a short timeout"

[[benchmark]]
name = "single-hang"
kind = "pipeline"
mode = "single"
model = "mlp"
width = 16
depth = 2
input_shape = [16]
batch_size = 8
microbatches = 2
steps = 4
warmup = 1
repeats = 1
timeout_s = 2
"""


def _suite(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def _status(out: Path) -> dict[str, dict[str, str]]:
    with (out / STATUS).open() as handle:
        return {row["benchmark"]: row for row in csv.DictReader(handle)}


def test_every_benchmark_failing_still_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["run", "quick", "--only", "dni-m4", "--fault", "dni-m4=raise:1:2", "--repeats", "1"]
    assert main([*argv, "--out", str(out)]) == 3
    assert _status(out)["dni-m4"]["status"] == "failed"
    assert (out / REPORT_MD).is_file()
    assert "positive throughput" not in capsys.readouterr().err


def test_a_train_model_that_cannot_be_allocated_fails_that_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(_suite(tmp_path, WIDE)), "--out", str(out)]) == 3
    status = _status(out)
    assert status["too-wide"]["status"] == "failed" and status["fits"]["status"] == "ok"
    assert "out of memory" in status["too-wide"]["message"]
    assert (out / REPORT_MD).is_file() and "Traceback" in (out / ERRORS).read_text()


def test_ctrl_c_while_the_report_is_written_names_the_report_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(run_dir: Path, title: str, command: str) -> tuple[Path, Path]:
        raise KeyboardInterrupt

    monkeypatch.setattr(suites, "finish_run", interrupted)
    out = tmp_path / "run"
    assert main(["run", str(_suite(tmp_path, SMALL)), "--out", str(out)]) == 130
    assert f"dnibench report {out}" in capsys.readouterr().err
    assert {row["status"] for row in _status(out).values()} == {"ok"}


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except OSError as err:
        pytest.skip(f"cannot mount a tmpfs here ({err})")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'not root'}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], timeout=30, check=False)


def _fill(disk: Path) -> None:
    """Fill the file system of ``disk`` to the last byte."""
    with contextlib.suppress(OSError), (disk / "filler").open("wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()


def test_a_full_disk_ends_the_run_with_exit_3_and_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 200 KiB tmpfs as the run's disk, filled up once the first benchmark is recorded."""
    suite = _suite(tmp_path, SMALL)
    with _tmpfs(tmp_path / "disk", "200k") as disk:
        real = writer.append_status

        def append_status(out: Path, rows: object) -> None:
            real(out, rows)  # type: ignore[arg-type]
            if not (disk / "filler").exists():
                _fill(disk)

        monkeypatch.setattr(writer, "append_status", append_status)
        out = disk / "run"
        assert main(["run", str(suite), "--out", str(out)]) == 3
        err = capsys.readouterr().err
        assert "disk" in err and "full" in err and "Traceback" not in err
        status = _status(out)  # parseable: whole rows only
        assert status["first"]["status"] == "ok"
        assert status["second"]["status"] == "failed"
        assert "the disk is full" in status["second"]["message"]
        assert status["third"]["status"] == "failed"
        with (out / "results.csv").open() as handle:
            assert {row["benchmark"] for row in csv.DictReader(handle)} <= {"calibration", "first"}
        assert (out / REPORT_MD).is_file() or f"dnibench report {out}" in err


def test_a_hang_in_a_one_process_benchmark_is_caught_within_its_timeout(tmp_path: Path) -> None:
    """timeout_s = 2, not the 600 s deadline: the run ends long before the test's own limit."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "dnibench", "run", str(_suite(tmp_path, HANG)),
               "--out", str(out), "--fault", "single-hang=hang:0:1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 3, output
    status = _status(out)["single-hang"]
    assert status["status"] == "failed"
    assert "stage 0 hung: no progress for" in status["message"]
    assert "timeout_s 2" in status["message"] and "after step" in status["message"]
    assert (out / REPORT_MD).is_file()
    assert "exceeded 600 s" not in output
