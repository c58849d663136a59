"""The ttq report section on a hand-made run directory: targets, aggregates, verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from dnibench.rundir import writer
from dnibench.rundir.layout import CONFIG
from dnibench.studies.ttq.section import ttq_section_markdown

SPEC = {
    "model": "mlp", "width": 16, "depth": None, "stages": 2, "balance": None,
    "microbatches": 4, "batch_size": 64, "threads": 1, "staleness": 1, "data": "digits",
    "update_per_microbatch": False, "steps": 100, "eval_every": 10, "seed": 0,
}  # fmt: skip
# Wall seconds per evaluation (10 steps) of each regime; accuracy climbs the same for all
# but unlock, which never reaches 0.95 on seeds 3 and 4.
PER_EVAL = {"1f1b": 1.0, "gpipe": 1.2, "dni": 0.9}


def _entry(mode: str, floor: float = 0.5) -> dict[str, object]:
    return {
        "name": f"w-{mode}",
        "kind": "ttq",
        "repeats": 5,
        "spec": {
            "spec": {**SPEC, "mode": mode},
            "workload": "w",
            "calibration_best": 1.0,
            "floor_best": floor,
            "target_share": 0.95,
        },
    }


def _curve(mode: str, seed: int) -> list[dict[str, object]]:
    rows = []
    for i in range(1, 11):
        accuracy = min(1.0, 0.1 * i + 0.01 * seed)
        if mode == "unlock" and seed >= 3:
            accuracy = min(accuracy, 0.9)
        wall = PER_EVAL.get(mode, 1.0) * i * (1 + 0.05 * seed)
        rows.append(
            {
                "benchmark": f"w-{mode}", "repeat": seed, "step": 10 * i, "samples": 640 * i,
                "seconds": wall, "train_loss": 1.0, "test_loss": 1.0, "test_accuracy": accuracy,
                "wall_seconds": wall, "wall_seconds_with_eval": wall + 0.1 * i,
                "cpu_seconds": 2 * wall,
            }
        )  # fmt: skip
    return rows


def _run_dir(tmp_path: Path, floor: float = 0.5) -> str | None:
    modes = ["gpipe", "1f1b", "dni", "unlock"]
    entries = [_entry(mode, floor) for mode in modes]
    entries.append({"name": "tput-1f1b", "kind": "pipeline", "repeats": 1,
                    "spec": {**SPEC, "mode": "1f1b"}})  # fmt: skip
    (tmp_path / CONFIG).write_text(json.dumps({"format_version": 1, "benchmarks": entries}))
    for mode in modes:
        for seed in range(5):
            writer.append_curves(tmp_path, _curve(mode, seed))
    row = {
        "benchmark": "tput-1f1b",
        "mode": "1f1b",
        "stages": 2,
        "microbatches": 4,
        "metric": "throughput",
        "stage": -1,
        "repeat": 0,
        "value": 640.0,
        "unit": "samples/s",
    }
    writer.append_results(tmp_path, [row])  # fmt: skip
    return ttq_section_markdown(tmp_path)


def test_the_section_reads_targets_aggregates_verdicts_and_residuals(tmp_path: Path) -> None:
    text = _run_dir(tmp_path)
    assert text is not None
    assert "= 0.9500" in text and "does not reach the target: yes" in text
    # 1f1b reaches 0.95 at the 10th evaluation on seed 0 (100% of the budget), earlier after.
    assert "1f1b reaches the target after" in text
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    # dni is faster than 1f1b on every seed by the same factor: met.
    dni_verdict = [line for line in text.splitlines() if line.startswith("| dni | w-1f1b")]
    assert dni_verdict and "| met |" in dni_verdict[0]
    unlock_verdict = [line for line in text.splitlines() if line.startswith("| unlock | w-1f1b")]
    assert unlock_verdict and "| missed |" in unlock_verdict[0]
    unlock_row = [line for line in text.splitlines() if line.startswith("| unlock | w-unlock")]
    assert "3/5 reached" in unlock_row[0] and "not reached" in unlock_row[0]
    # The decomposition of 1f1b: throughput 640 samples/s from tput-1f1b.
    assert any("tput-1f1b" in line and line.startswith("| 1f1b |") for line in lines.values())


def test_a_target_the_floor_reaches_makes_every_verdict_not_testable(tmp_path: Path) -> None:
    text = _run_dir(tmp_path, floor=0.96)
    assert text is not None and "does not reach the target: NO" in text
    starts = ("| dni | w-1f1b", "| unlock | w-1f1b")
    verdicts = [line for line in text.splitlines() if line.startswith(starts)]
    assert len(verdicts) == 2
    assert all("not testable" in line and "unfit target" in line for line in verdicts)
