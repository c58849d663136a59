"""The fingerprint's git fields come from dnibench's own checkout only (issue 20, defect 17).

It ran ``git status`` wherever dnibench sat: that refreshed the index of the
repository around it, and dnibench copied or installed inside another
repository recorded that repository's commit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dnibench
from dnibench.bench.fingerprint import git_info

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull}  # fmt: skip


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, timeout=60,
        env={**os.environ, **GIT_ENV}, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _repo(folder: Path) -> str:
    """A repository at ``folder`` with one commit of tracked.txt; its commit id."""
    folder.mkdir(parents=True, exist_ok=True)
    _git(folder, "init", "-q")
    (folder / "tracked.txt").write_text("x\n")
    _git(folder, "add", "tracked.txt")
    _git(folder, "commit", "-q", "-m", "one")
    return _git(folder, "rev-parse", "HEAD")


def test_dnibench_copied_inside_another_repository_records_not_a_checkout(tmp_path: Path) -> None:
    outer = tmp_path / "project"
    commit = _repo(outer)
    vendored = outer / "vendor" / "tools"
    shutil.copytree(
        Path(dnibench.__file__).parent, vendored / "dnibench",
        ignore=shutil.ignore_patterns("__pycache__"),
    )  # fmt: skip
    index = outer / ".git" / "index"
    os.utime(outer / "tracked.txt", ns=(1, 1))  # stale stat data: a plain `git status` rewrites it
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    code = (
        "import json, dnibench; from dnibench.bench.fingerprint import fingerprint; "
        f"f = fingerprint(); assert dnibench.__file__.startswith({str(vendored)!r}); "
        "print(json.dumps({k: f[k] for k in ('git_commit', 'git_dirty', 'git_note')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(vendored)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    fields = json.loads(done.stdout.splitlines()[-1])
    assert fields == {"git_commit": None, "git_dirty": None, "git_note": "not a checkout"}
    assert commit not in done.stdout
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before  # nothing written there


def test_a_checkout_of_its_own_records_its_commit_without_writing(tmp_path: Path) -> None:
    root = tmp_path / "dnibench-checkout"
    commit = _repo(root)
    index = root / ".git" / "index"
    os.utime(root / "tracked.txt", ns=(1, 1))
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    assert git_info(root) == {"git_commit": commit, "git_dirty": False, "git_note": None}
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    (root / "tracked.txt").write_text("changed\n")
    assert git_info(root)["git_dirty"] is True


def test_a_folder_below_the_top_of_a_work_tree_is_not_a_checkout(tmp_path: Path) -> None:
    _repo(tmp_path / "repo")
    (tmp_path / "repo" / "sub").mkdir()
    assert git_info(tmp_path / "repo" / "sub")["git_note"] == "not a checkout"
    assert git_info(tmp_path)["git_commit"] is None


def test_the_fingerprint_records_the_run_dtypes_with_the_measured_peak(monkeypatch) -> None:
    from dnibench.bench import fingerprint as module

    monkeypatch.setattr(module, "machine_peaks", lambda dtypes: {f"peak_{d}": 1.0 for d in dtypes})
    recorded = module.fingerprint(dtypes=["bf16", "fp32", "bf16"])
    assert recorded["dtypes"] == ["bf16", "fp32"]
    assert recorded["peak_bf16"] == recorded["peak_fp32"] == 1.0
    assert "dtypes" not in module.fingerprint()  # no pipeline, no probe


def test_the_world_size_is_the_largest_process_group_not_a_kmap_replays_k(
    tmp_path: Path,
) -> None:
    """The ttq suite's kmap entries replay K = 4 stages in one process; its pipelines run 2
    ranks: the run's fingerprint says 2 (the committed ttq-full run said 4)."""
    from dnibench.bench.session import prepare_run_dir
    from dnibench.suites import load_suite

    items = load_suite("ttq").items
    assert max(i.spec.stages for i in items if i.kind == "kmap" and i.spec) == 4
    prepare_run_dir(tmp_path / "run", items)
    finger = json.loads((tmp_path / "run" / "fingerprint.json").read_text())
    assert finger["world_size"] == 2
