"""Fault trials: kill -9 and SIGTERM to ``dnibench run`` at random moments.

Measures what issue 20 promises ("no process outlives dnibench"):

- ``kill -9`` of the parent at a random moment after its first child (rank or
  ``--jobs`` worker) started: 2 s later no process of the run is alive and no
  ``dnibench-*`` temporary folder is left;
- SIGTERM at a random moment after the first result landed: exit 143, the
  results are kept (status.csv has the finished run ok and the rest
  interrupted), the report is written, and again nothing is left 2 s later.

Trials alternate between a pipeline run (two ranks per launch:
``run quick --only gpipe-m4,dni-m4 --repeats 2``) and a ``run --jobs 2`` of
one-thread character LMs. Each trial has its own TMPDIR and an environment
tag, so processes and folders of other runs on the machine do not count.
Prints one row per trial and a summary; exit 0 when every trial passed,
1 otherwise. Needs Linux (``/proc``).

    python tools/fault_trials.py [--trials 10] [--seed 0] [--window 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

TAG = "DNIBENCH_TRIAL_TAG"
SETTLE_S = 2.0
PIPELINE = ["quick", "--only", "gpipe-m4,dni-m4", "--repeats", "2"]
LM_SUITE = """
[suite]
description = "one quick and three long character LMs (fault trials)"
repeats = 1

[[benchmark]]
name = "quick"
kind = "rnn"
data = "text"
width = 8
batch_size = 4
chars = 400
eval_every = 200
eval_chars = 100

[[benchmark]]
name = "long-T{truncation}"
kind = "rnn"
data = "text"
truncation = [8, 9, 10]
width = 8
batch_size = 4
chars = 50000000
eval_every = 10000000
eval_chars = 100
"""


@dataclass
class Trial:
    """One trial's outcome."""

    number: int
    signal: str
    kind: str
    moment_s: float
    exit: int | None = None
    alive: int = 0
    folders: int = 0
    results: bool | None = None
    report: bool | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        clean = self.alive == 0 and self.folders == 0 and not self.note
        if self.signal == "SIGKILL":
            return clean
        return clean and self.exit == 143 and bool(self.results) and bool(self.report)


def _processes(tag: str) -> list[int]:
    """Live (not zombie) processes carrying ``TAG=tag`` in their environment."""
    found = []
    needle = f"{TAG}={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X") and needle in environ:
            found.append(int(entry.name))
    return found


def _children_started(tag: str, parent: int) -> bool:
    """Whether the run has a process besides its parent (a rank, a worker)."""
    return any(pid != parent for pid in _processes(tag))


def _command(kind: str, base: Path) -> list[str]:
    out = str(base / "run")
    if kind == "pipeline":
        return [sys.executable, "-m", "dnibench", "run", *PIPELINE, "--out", out]
    suite, book = base / "lm.toml", base / "book.txt"
    suite.write_text(LM_SUITE)
    book.write_text("sphinx of black quartz, judge my vow. " * 60)
    return [sys.executable, "-m", "dnibench", "run", str(suite), "--jobs", "2",
            "--text-path", str(book), "--out", out]  # fmt: skip


def _kept(run: Path) -> bool:
    """The finished run is recorded ok and the rest interrupted."""
    try:
        with (run / "status.csv").open() as handle:
            states = [row["status"] for row in csv.DictReader(handle)]
    except OSError:
        return False
    return "ok" in states and "interrupted" in states


def run_trial(trial: Trial, base: Path) -> Trial:
    """Start a run, signal its parent at ``trial.moment_s``, then look at what is left."""
    tmp = base / "tmp"
    tmp.mkdir(parents=True)
    tag = uuid.uuid4().hex
    env = {**os.environ, "TMPDIR": str(tmp), TAG: tag, "PYTHONUNBUFFERED": "1"}
    log = base / "output.log"  # a file, not a pipe: an orphan holding a pipe would stall us
    with log.open("w") as output:
        parent = subprocess.Popen(
            _command(trial.kind, base), stdout=output, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 300
        if trial.signal == "SIGKILL":  # from the first child's start
            while not _children_started(tag, parent.pid):
                if parent.poll() is not None or time.monotonic() > deadline:
                    trial.note = "no child started"
                    return trial
                time.sleep(0.005)
        else:  # from the first result
            while not any(line.startswith("[1/") for line in log.read_text().splitlines()):
                if parent.poll() is not None or time.monotonic() > deadline:
                    trial.note = "no result"
                    return trial
                time.sleep(0.05)
        time.sleep(trial.moment_s)
        if parent.poll() is not None:
            trial.note = "run ended before the signal"
            return trial
        parent.send_signal(getattr(signal, trial.signal))
        try:
            parent.wait(timeout=120)
        except subprocess.TimeoutExpired:
            trial.note = "parent still running 120 s after the signal"
            return trial
        trial.exit = parent.returncode
        time.sleep(SETTLE_S)
        trial.alive = len(_processes(tag))
        trial.folders = len(list(tmp.glob("dnibench-*")))
        if trial.signal != "SIGKILL":
            trial.results = _kept(base / "run")
            trial.report = (base / "run" / "report.md").exists()
        return trial
    finally:
        parent.kill()
        for pid in _processes(tag):  # leave nothing behind, even on a failed trial
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=60)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per signal (10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--window", type=float, default=8.0, help="kill -9 moments: uniform in [0, W] s (8)"
    )
    parser.add_argument("--keep", type=Path, help="keep the trials' folders here")
    args = parser.parse_args(argv)
    if not Path("/proc/self/stat").exists():
        print("fault_trials: needs Linux (/proc)", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    plan = [
        Trial(n, sig, "pipeline" if n % 2 == 0 else "jobs-2", round(rng.uniform(0, hi), 2))
        for sig, hi in (("SIGKILL", args.window), ("SIGTERM", args.window / 2))
        for n in range(args.trials)
    ]
    root = args.keep or Path(tempfile.mkdtemp(prefix="fault-trials-"))
    header = f"{'trial':>5} {'signal':<8} {'run':<9} {'at_s':>5} {'exit':>5} " \
             f"{'alive_2s':>8} {'tmp_dirs':>8} {'results':>7} {'report':>6}  verdict"  # fmt: skip
    print(header, flush=True)
    done = []
    try:
        for trial in plan:
            base = root / f"{trial.signal.lower()}-{trial.number}"
            run_trial(trial, base)
            done.append(trial)
            verdict = "pass" if trial.ok else f"FAIL {trial.note}".rstrip()
            row = (f"{trial.number:>5} {trial.signal:<8} {trial.kind:<9} {trial.moment_s:>5.2f} "
                   f"{_cell(trial.exit):>5} {trial.alive:>8} {trial.folders:>8} "
                   f"{_cell(trial.results):>7} {_cell(trial.report):>6}  {verdict}")  # fmt: skip
            print(row, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    for name in ("SIGKILL", "SIGTERM"):
        trials = [t for t in done if t.signal == name]
        passed = sum(t.ok for t in trials)
        print(f"{name}: {passed}/{len(trials)} trials passed")
    return 0 if all(t.ok for t in done) and len(done) == len(plan) else 1


if __name__ == "__main__":
    sys.exit(main())
