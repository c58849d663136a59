"""tools/gpu_check.sh rehearsed on the CPU stand-in, and tools/out_limits.py.

The passing rehearsal is the full one (priority 1, the gpu-quick streams rows at
one repeat; priority 3, the rnn LM alone and side by side on a small text; the
CUDA tests; priorities 2 and 4 skipped and said so), 1-4.5 minutes on two
shared cores; the forced failure runs a reduced one (GPU_CHECK_ONLY, priority 1
only, tests skipped): the same script, steps, report checks and packing.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import out_limits  # noqa: E402  (a script in tools/, not a package)

ONLY = "streams-dni-m8,streams-sequential-m1,streams-single-m8"
# Priority 2 runs whenever suites/gpu-gpt.toml exists (it is committed).
GPT_ENABLED = (ROOT / "suites" / "gpu-gpt.toml").exists()
assert GPT_ENABLED, "suites/gpu-gpt.toml is missing: priority 2 of gpu_check.sh would be skipped"
GPT_SKIPPED = "not enabled: suites/gpu-gpt.toml is absent"


def _rehearse(
    out: Path, *flags: str, reduced: bool = True, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, **extra}
    if reduced:
        env |= {"GPU_CHECK_ONLY": ONLY, "GPU_CHECK_GROUPS": "1", "GPU_CHECK_SKIP_TESTS": "1"}
    return subprocess.run(
        ["bash", str(ROOT / "tools" / "gpu_check.sh"), "--rehearse", *flags],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=330,
    )  # fmt: skip


def _archive(out: Path) -> tuple[dict[str, bytes], str]:
    [archive] = out.glob("gpu-quick-cpu-rehearsal-*.tar.gz")
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    prefix = archive.name.removesuffix(".tar.gz")
    return files, f"reports/{prefix}"


def _status(files: dict[str, bytes], run: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[f"{run}/status.csv"].decode())))


def test_the_rehearsal_passes_and_packs_a_run_within_the_device_limits(tmp_path: Path) -> None:
    # 600 s, not the device's 330: this CPU is shared, and a step the clock cuts here
    # would fail the rehearsal for the machine's load, not for the script.
    done = _rehearse(tmp_path, reduced=False, GPU_CHECK_LIMIT_S="600")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "out limits: ok" in done.stdout
    assert out_limits.problems(tmp_path) == []
    files, run = _archive(tmp_path)
    assert {row["status"] for row in _status(files, run)} == {"ok"}
    assert len(_status(files, run)) == 27  # every benchmark, 1 repeat (priority 1)
    assert "CUDA tests" in done.stdout and " passed" in done.stdout
    assert "test_recurrent_cuda.py" in done.stdout  # found as a CUDA test file
    report = files[f"{run}/report.md"].decode()
    for heading in ("Overlap premise not tested", "unlock_over_1f1b_m8_small", "CPU stand-in"):
        assert heading in report
    assert f"{run}/gpu_facts.json" in files and f"{run}/fingerprint.json" in files
    assert (tmp_path / "report.md").is_file() and (tmp_path / "gpu-check.log").is_file()
    rnn = run.replace("gpu-quick-", "gpu-rnn-")
    page = (tmp_path / "gpu-check.md").read_text()
    assert [row["status"] for row in _status(files, rnn)] == ["ok"] * 3  # priority 3, alone
    side = [row["status"] for row in _status(files, rnn + "-side")]  # and side by side
    assert side == ["ok"] * 3 or (set(side) == {"interrupted"} and "cut by the clock" in page)
    assert page == files[f"{run}/gpu-check.md"].decode()
    assert "| 1 | streams rows (gpu-quick) | fp32 (as run) | 120 |" in page  # cpu profile
    assert "repeats 3 -> 1" in page and "27 ok" in page
    assert (GPT_SKIPPED not in page) if GPT_ENABLED else (GPT_SKIPPED in page)  # priority 2
    assert "rehearsal: the GPU profile needs CUDA" in page  # priority 4
    assert "**no verdict**" in page and "gpu-rnn-dni-T8 | dni-tbptt |" in page


def _untracked() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip


def test_skipped_priorities_are_named_on_the_page_and_are_no_failure(tmp_path: Path) -> None:
    before = _untracked()
    done = _rehearse(tmp_path, reduced=False, GPU_CHECK_GROUPS="2,4", GPU_CHECK_SKIP_TESTS="1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    page = (tmp_path / "gpu-check.md").read_text()
    for priority in (1, 3):
        assert f"| {priority} |" in page and "not among GPU_CHECK_GROUPS" in page
    assert "### rnn characters per second" not in page  # priority 3 did not run
    assert out_limits.problems(tmp_path) == []
    assert _untracked() == before  # nothing written into the checkout


def test_a_forced_failure_still_packs_the_partial_run_and_exits_non_zero(tmp_path: Path) -> None:
    done = _rehearse(tmp_path, "--force-fail")
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 benchmark run(s) did not end ok" in done.stdout
    files, run = _archive(tmp_path)
    status = {row["benchmark"]: row for row in _status(files, run)}
    assert status["streams-dni-m8"]["status"] == "failed"
    assert "injected fault" in status["streams-dni-m8"]["message"]
    assert status["streams-single-m8"]["status"] == "ok"  # the rest ran
    assert f"{run}/report.md" in files and out_limits.problems(tmp_path) == []


def test_without_out_the_device_run_refuses_and_unknown_options_are_named() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    script = str(ROOT / "tools" / "gpu_check.sh")
    done = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "$OUT is not set" in done.stderr
    done = subprocess.run(["bash", script, "--rehears"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "unknown option '--rehears'" in done.stderr


def test_out_limits_name_every_problem(tmp_path: Path) -> None:
    assert out_limits.problems(tmp_path) == []
    for index in range(9):
        (tmp_path / f"f{index}.txt").write_text("x")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "too-deep.txt").write_text("x")
    (tmp_path / "odd name.txt").write_text("x")
    found = "\n".join(out_limits.problems(tmp_path))
    assert "11 files, over 8" in found
    assert "more than 2 folders down" in found
    assert "odd name.txt: name outside" in found
    assert out_limits.main([str(tmp_path)]) == 1


def test_out_limits_flag_a_file_over_16_mib(tmp_path: Path) -> None:
    with (tmp_path / "big.tar.gz").open("wb") as handle:
        handle.truncate(16 * 2**20 + 1)
    assert any("over 16777216" in line for line in out_limits.problems(tmp_path))


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("NVIDIA H200", "h200"),
        ("NVIDIA H100 80GB HBM3", "h100"),
        (None, "cpu"),
        ("Some GPU", "gpu"),
    ],
)
def test_machine_tags_name_the_gpu(name: str | None, tag: str) -> None:
    import gpu_facts

    assert gpu_facts.machine_tag(name) == tag
