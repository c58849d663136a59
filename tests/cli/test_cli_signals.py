"""SIGTERM and SIGHUP stop a command as Ctrl-C does, and map to documented exit statuses."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dnibench.bench.parallel import ParallelInterrupted
from dnibench.cli.exit_codes import (
    EXIT_CODES,
    EXIT_HANGUP,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    interrupted_status,
)
from dnibench.cli.signals import SignalStop, stops_on_signals


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

    before = signal.getsignal(signum)
    with pytest.raises(SignalStop) as stop:
        command()
    assert stop.value.signum == signum
    assert signal.getsignal(signum) is before


def test_the_docs_say_what_each_signal_does() -> None:
    root = Path(__file__).resolve().parents[2]
    table = (root / "docs" / "exit-codes.md").read_text()
    readme = (root / "README.md").read_text()
    for status, signame in ((129, "SIGHUP"), (130, "SIGINT"), (143, "SIGTERM")):
        assert f"| {status} |" in table and f"| {signame}" in table
    assert all(word in readme for word in ("SIGTERM", "SIGHUP", "143", "129", "kill -9"))
