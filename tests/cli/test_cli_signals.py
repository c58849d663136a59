"""SIGTERM and SIGHUP stop a command as Ctrl-C does, and map to documented exit statuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from processes import default_stop_signals, kill_all, tagged, wait_until_gone

from dnibench.bench.parallel import ParallelInterrupted
from dnibench.cli import main
from dnibench.cli.exit_codes import (
    EXIT_CODES,
    EXIT_HANGUP,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    interrupted_status,
)
from dnibench.cli.signals import SignalStop, stops_on_signals

TAG = "DNIBENCH_TEST_TAG"


@pytest.mark.parametrize(
    ("stop", "status"),
    [
        (KeyboardInterrupt(), 130),
        (SignalStop(signal.SIGTERM), 143),
        (SignalStop(signal.SIGHUP), 129),
        (ParallelInterrupted([]), 130),
        (ParallelInterrupted([], signal.SIGTERM), 143),
    ],
)
def test_each_stop_has_its_exit_status(stop: KeyboardInterrupt, status: int) -> None:
    assert interrupted_status(stop) == status


def test_the_help_lists_every_stop_status() -> None:
    assert (EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED) == (129, 130, 143)
    for status, word in ((129, "SIGHUP"), (130, "Ctrl-C"), (143, "SIGTERM")):
        lines = [line for line in EXIT_CODES.splitlines() if line.strip().startswith(str(status))]
        assert len(lines) == 1 and word in lines[0]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_raises_a_stop_while_the_command_runs_and_not_after(signum: int) -> None:
    @stops_on_signals
    def command() -> int:
        os.kill(os.getpid(), signum)
        return 0

    # Under nohup (SIGHUP) or as a background job the test process may have inherited
    # SIG_IGN, which dnibench leaves alone: start from the default a terminal gives.
    inherited = signal.signal(signum, signal.SIG_DFL)
    try:
        with pytest.raises(SignalStop) as stop:
            command()
        assert stop.value.signum == signum
        assert signal.getsignal(signum) is signal.SIG_DFL
    finally:
        signal.signal(signum, inherited)


def test_the_docs_say_what_each_signal_does() -> None:
    root = Path(__file__).resolve().parents[2]
    table = (root / "docs" / "exit-codes.md").read_text()
    readme = (root / "README.md").read_text()
    for status, signame in ((129, "SIGHUP"), (130, "SIGINT"), (143, "SIGTERM")):
        assert f"| {status} |" in table and f"| {signame}" in table
    assert all(word in readme for word in ("SIGTERM", "SIGHUP", "143", "129", "kill -9"))


def test_a_signal_inherited_as_ignored_stays_ignored() -> None:
    @stops_on_signals
    def command() -> int:
        os.kill(os.getpid(), signal.SIGHUP)  # nohup's choice: nothing happens
        os.kill(os.getpid(), signal.SIGINT)  # a background job's: nothing happens
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        return 0

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    before_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert command() == 0
    finally:
        signal.signal(signal.SIGHUP, before)
        signal.signal(signal.SIGINT, before_int)


def test_train_stopped_by_a_signal_keeps_the_modes_it_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dnibench.train

    real = dnibench.train.train

    def stopped_second(config, dataset, verbose=False):  # type: ignore[no-untyped-def]
        if config.mode == "dni":
            raise SignalStop(signal.SIGTERM)
        return real(config, dataset, verbose=verbose)

    monkeypatch.setattr(dnibench.train, "train", stopped_second)
    out = tmp_path / "curves.json"
    argv = ["train", "--mode", "backprop,dni", "--stages", "2", "--steps", "20",
            "--eval-every", "10", "--json", str(out)]  # fmt: skip
    assert main(argv) == 143
    assert "interrupted: 1 of 2 mode(s) trained" in capsys.readouterr().out
    assert [run["mode"] for run in json.loads(out.read_text())] == ["backprop"]


def _signalled(command: list[str], ready: str, signum: int, tag: str) -> tuple[int, str]:
    """Start ``command``, send ``signum`` once a line holds ``ready``: its status and output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", TAG: tag}
    child = subprocess.Popen(
        [sys.executable, "-m", "dnibench", *command], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=env, preexec_fn=default_stop_signals,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        seen, deadline = [], time.monotonic() + 240
        for line in child.stdout:
            seen.append(line)
            if ready in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        time.sleep(1.0)
        child.send_signal(signum)
        rest, _ = child.communicate(timeout=90)
        return child.returncode, "".join(seen) + rest
    finally:  # a failing test must not leave it running
        child.kill()
        kill_all(tagged(TAG, tag))
        child.communicate(timeout=30)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_train_exits_with_the_signals_status(signum: int, status: int) -> None:
    command = ["train", "--mode", "backprop", "--steps", "1000000", "--eval-every", "100000"]
    code, output = _signalled(command, "test_acc", signum, uuid.uuid4().hex)
    assert code == status, output
    assert "interrupted: 0 of 1 mode(s) trained" in output and "Traceback" not in output


def test_bench_on_sigterm_stops_its_ranks_and_exits_143() -> None:
    tag = uuid.uuid4().hex
    command = ["bench", "--mode", "gpipe", "--microbatches", "2", "--steps", "100000",
               "--warmup", "1"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", TAG: tag}
    child = subprocess.Popen(
        [sys.executable, "-m", "dnibench", *command], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=env, preexec_fn=default_stop_signals,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not _ranks(tag):
            assert child.poll() is None and time.monotonic() < deadline, "no rank started"
            time.sleep(0.05)
        time.sleep(3.0)  # the ranks are loading torch or training
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=90)
        assert child.returncode == 143, output
        assert "Traceback" not in output
        assert wait_until_gone(lambda: tagged(TAG, tag), 2.0) == {}
    finally:  # a failing test must not leave its ranks training
        child.kill()
        kill_all(tagged(TAG, tag))
        child.communicate(timeout=30)


def _ranks(tag: str) -> dict[int, str]:
    return {
        pid: command
        for pid, command in tagged(TAG, tag).items()
        if "dnibench.runtimes.distributed.rank" in command
    }
