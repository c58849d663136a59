"""The pytest-benchmark export, read back by pytest-benchmark's own code.

The proof that the format is right is the real ``pytest-benchmark compare``
command reading the file (as a subprocess, the way a user runs it), plus its
``Stats`` class agreeing with every summary number written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytest_benchmark.stats import Stats

from dnibench.errors import UserError
from dnibench.export import FILE_NAME, write_pytest_benchmark_json
from dnibench.export.pytest_benchmark import step_stats

REAL_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline-run"
MACHINE_KEYS = ("node", "processor", "machine", "python_implementation", "python_version",
                "release", "system", "cpu")  # fmt: skip


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A copy of the committed real run, so the export never touches the original."""
    return Path(shutil.copytree(REAL_RUN, tmp_path / "run"))


def compare(json_path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pytest-benchmark compare PATH`` as a user runs it, from ``cwd``.

    ``python -m pytest_benchmark`` is the console script's entry point;
    ``python -m pytest_benchmark.cli`` would exit 0 having done nothing (that
    module has no ``__main__`` guard). ``cwd`` matters: compare creates
    ``.benchmarks/`` there and imports any ``conftest.py`` it finds.
    """
    return subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(json_path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_real_run_exports_and_pytest_benchmark_compare_lists_every_benchmark(
    run_dir: Path, tmp_path: Path
) -> None:
    out = write_pytest_benchmark_json(run_dir)
    assert out == run_dir / FILE_NAME
    names = [n for n in dict.fromkeys(pd.read_csv(run_dir / "results.csv")["benchmark"])
             if n != "calibration"]  # fmt: skip
    assert len(names) == 23

    result = compare(out.relative_to(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Failed to load" not in result.stdout + result.stderr
    assert "benchmark: 23 tests" in result.stdout
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert set(names) <= listed


def test_document_has_pytest_benchmarks_keys_and_times_steps(run_dir: Path) -> None:
    document = json.loads(write_pytest_benchmark_json(run_dir).read_text())
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(document)
    assert set(MACHINE_KEYS) <= set(document["machine_info"])
    info = document["machine_info"]
    assert (info["system"], info["release"], info["machine"]) == (
        "Linux", "6.18.44-fc-v669", "x86_64")  # fmt: skip
    assert info["cpu"]["count"] == 2
    fingerprint = json.loads((run_dir / "fingerprint.json").read_text())
    assert document["commit_info"]["id"] == fingerprint["git_commit"]

    frame = pd.read_csv(run_dir / "results.csv")
    bench = next(b for b in document["benchmarks"] if b["name"] == "dni-m8")
    assert set(bench) >= {"group", "name", "fullname", "params", "param", "extra_info",
                          "options", "stats"}  # fmt: skip
    assert set(Stats.fields) | {"data", "iterations"} == set(bench["stats"])
    windows = frame[(frame["benchmark"] == "dni-m8")
                    & frame["metric"].str.startswith("throughput_window_")]  # fmt: skip
    assert bench["stats"]["rounds"] == len(windows) == 75
    assert bench["extra_info"]["samples_per_step"] == 256
    # seconds per step = 256 samples / window throughput, window for window
    seconds = np.sort(256 / windows["value"].to_numpy())
    assert np.allclose(np.sort(bench["stats"]["data"]), seconds)
    throughput = frame[(frame["benchmark"] == "dni-m8") & (frame["metric"] == "throughput")]
    extra = bench["extra_info"]
    assert extra["throughput_median"] == pytest.approx(throughput["value"].median())
    assert (extra["mode"], extra["stages"], extra["microbatches"]) == ("dni", 2, 8)
    assert 0.5 < extra["pipeline_efficiency"] <= 1.0


def test_exported_statistics_equal_pytest_benchmarks_own_on_the_same_samples(
    run_dir: Path,
) -> None:
    """Every summary number written is what pytest-benchmark computes from the data written."""
    document = json.loads(write_pytest_benchmark_json(run_dir).read_text())
    assert len(document["benchmarks"]) == 23
    for bench in document["benchmarks"]:
        reference = Stats()
        for value in bench["stats"]["data"]:
            reference.update(value)
        for field in Stats.fields:
            assert bench["stats"][field] == getattr(reference, field), (bench["name"], field)
        assert bench["stats"]["rounds"] > 1 and bench["stats"]["iqr"] > 0, bench["name"]


@pytest.mark.parametrize("n", [1, 2, 7, 8])
def test_step_stats_keeps_recorded_order_and_quartile_rule(n: int) -> None:
    """The hinge quartiles, not numpy's interpolation; the total summed in recorded order."""
    data = list(np.random.default_rng(n).lognormal(-2.5, 0.3, n))
    stats = step_stats(data)
    assert stats["rounds"] == n and stats["total"] == sum(data)
    assert stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]
    if n == 8:  # even count: the median of each half
        ordered = sorted(data)
        assert stats["q1"] == pytest.approx(np.median(ordered[:4]))
        assert stats["q3"] == pytest.approx(np.median(ordered[4:]))


def test_step_stats_rejects_no_data() -> None:
    with pytest.raises(ValueError, match="no data points"):
        step_stats([])


@pytest.mark.parametrize(
    "shape",
    ["list", "benchmarks", "benchmarks of spec", "spec of benchmarks"],
)
def test_config_shapes_give_batch_size(run_dir: Path, shape: str) -> None:
    entries = json.loads((run_dir / "config.json").read_text())["benchmarks"]
    specs = [{**entry["spec"], "name": entry["name"]} for entry in entries]
    for spec in specs:
        spec["batch_size"] = 128
    config = {
        "list": specs,
        "benchmarks": {"benchmarks": specs},
        # what sessions write now: each entry's spec nested under "spec"
        "benchmarks of spec": {
            "benchmarks": [
                {"name": spec["name"], "kind": "pipeline", "repeats": 3, "spec": spec}
                for spec in specs
            ],
            "suite": "pipeline",
        },
        "spec of benchmarks": {"spec": {"benchmarks": specs}},
    }[shape]
    (run_dir / "config.json").write_text(json.dumps(config))
    document = json.loads(write_pytest_benchmark_json(run_dir).read_text())
    assert {b["extra_info"]["samples_per_step"] for b in document["benchmarks"]} == {128}


def test_missing_config_falls_back_to_one_and_says_so(run_dir: Path, tmp_path: Path) -> None:
    (run_dir / "config.json").unlink()
    (run_dir / "fingerprint.json").unlink()
    out = write_pytest_benchmark_json(run_dir, tmp_path / "elsewhere" / "x.json")
    assert out == tmp_path / "elsewhere" / "x.json" and not (run_dir / FILE_NAME).exists()
    document = json.loads(out.read_text())
    extra = document["benchmarks"][0]["extra_info"]
    assert extra["samples_per_step"] == 1.0
    assert "fallback" in extra["samples_per_step_source"]
    assert "config.json" in extra["samples_per_step_source"]
    assert document["machine_info"]["system"] == "unknown"
    assert compare(out, cwd=tmp_path).returncode == 0


def test_corrupt_inputs_are_user_errors(run_dir: Path) -> None:
    (run_dir / "fingerprint.json").write_text("{not json")
    with pytest.raises(UserError, match=r"fingerprint\.json is not readable JSON"):
        write_pytest_benchmark_json(run_dir)
    (run_dir / "results.csv").unlink()
    with pytest.raises(UserError, match=r"holds no results\.csv"):
        write_pytest_benchmark_json(run_dir)


def test_session_rows_and_training_benchmarks(run_dir: Path, tmp_path: Path) -> None:
    """A calibration row is not a benchmark; a training benchmark has no windows."""
    with (run_dir / "results.csv").open("a") as handle:
        handle.write("calibration,,0,0,span_cost,-1,0,350.0,ns\n")
        for repeat, value in enumerate((900.0, 950.0, 1000.0)):
            handle.write(f"train-dni,dni,3,1,throughput,-1,{repeat},{value},samples/s\n")
            handle.write(f"train-dni,dni,3,1,test_accuracy,-1,{repeat},0.9,ratio\n")
    document = json.loads(write_pytest_benchmark_json(run_dir).read_text())
    names = [bench["name"] for bench in document["benchmarks"]]
    assert "calibration" not in names and len(names) == 24
    train = document["benchmarks"][-1]
    assert train["name"] == "train-dni" and train["stats"]["rounds"] == 3
    assert "no windows" in train["extra_info"]["timed"]
    assert "fallback" in train["extra_info"]["samples_per_step_source"]
    result = compare(run_dir.relative_to(tmp_path) / FILE_NAME, cwd=tmp_path)
    assert result.returncode == 0 and "train-dni" in result.stdout
