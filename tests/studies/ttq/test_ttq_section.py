"""The ttq report section on a hand-made run directory: targets, aggregates, verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from dnibench.report.findings import verdict_rows
from dnibench.rundir import writer
from dnibench.rundir.layout import CONFIG
from dnibench.studies.ttq.section import ttq_section, ttq_section_markdown

SPEC = {
    "model": "mlp", "width": 16, "depth": None, "stages": 2, "balance": None,
    "microbatches": 4, "batch_size": 64, "threads": 1, "staleness": 1, "data": "digits",
    "update_per_microbatch": False, "steps": 100, "eval_every": 10, "seed": 0,
}  # fmt: skip
# Wall seconds per evaluation (10 steps) of each regime; accuracy climbs the same for all
# but unlock, which never reaches 0.95 on seeds 3 and 4.
PER_EVAL = {"1f1b": 1.0, "gpipe": 1.2, "dni": 0.9, "pipedream": 0.8}


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


def _run_dir(
    tmp_path: Path,
    floor: float = 0.5,
    *,
    modes: tuple[str, ...] = ("gpipe", "1f1b", "dni", "unlock"),
    toy: float | None = None,
    refused: tuple[str, ...] = (),
) -> str | None:
    """A hand-made run; ``toy``: every launch's compute/message ratio; ``refused``: modes
    recorded as not applicable (no curve)."""
    entries = [_entry(mode, floor) for mode in (*modes, *refused)]
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
    if toy is not None:
        ratios = [
            {**row, "benchmark": f"w-{mode}", "mode": mode, "metric": "compute_to_message",
             "repeat": seed, "value": toy + 0.1 * seed, "unit": "ratio"}
            for mode in modes for seed in range(5)
        ]  # fmt: skip
        writer.append_results(tmp_path, ratios)
    writer.append_status(
        tmp_path,
        [
            {"benchmark": f"w-{mode}", "status": "not_applicable", "seconds": "0.1",
             "message": f"w-{mode}: {mode} refuses a Conv1d"}
            for mode in refused
        ],
    )  # fmt: skip
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
    assert all("not testable" in line and "unfit:" in line and "floor" in line for line in verdicts)


def _verdicts(text: str, mode: str) -> list[str]:
    """The verdict rows of ``mode`` (its own row in the regime table names itself)."""
    lines = text.splitlines()
    return [x for x in lines if x.startswith(f"| {mode} | w-") and f"| w-{mode} |" not in x]


def test_a_toy_sized_workload_makes_its_verdicts_not_testable_with_the_ratio(
    tmp_path: Path,
) -> None:
    text = _run_dir(tmp_path, toy=4.0)
    assert text is not None
    assert "(median over the regimes: 4.2x): NO" in text
    verdicts = _verdicts(text, "dni") + _verdicts(text, "unlock")
    assert len(verdicts) == 2
    assert all("| not testable |" in line and "4.2x the per-message" in line for line in verdicts)
    section = ttq_section(tmp_path)
    assert section is not None and len(section.verdicts) == 2
    rows = verdict_rows(section.verdicts)
    assert {r["verdict"] for r in rows} == {"not testable"}
    assert all("toy size" in r["premise"] and "4.2x" in r["premise"] for r in rows)
    assert all(r["study"] == "ttq" for r in rows)


def test_a_ratio_of_at_least_ten_passes_and_the_verdicts_are_decided(tmp_path: Path) -> None:
    text = _run_dir(tmp_path, toy=12.0)
    assert text is not None and "(median over the regimes: 12.2x): yes" in text
    section = ttq_section(tmp_path)
    assert section is not None
    words = {r.claim.split(": ")[1].split(" ")[0]: r.word for r in section.verdicts}
    assert words == {"dni": "met", "unlock": "missed"}
    met = next(r for r in section.verdicts if r.word == "met")
    # dni's wall seconds are 0.9 of 1f1b's on every seed: the ratio is 0.9, interval included.
    assert abs(met.estimate - 0.9) < 1e-9 and met.high < 1.0 and met.method == "paired by seed"


def test_an_asynchronous_mode_is_set_against_dni_and_the_best_exact_schedule(
    tmp_path: Path,
) -> None:
    modes = ("gpipe", "1f1b", "dni", "pipedream")
    text = _run_dir(tmp_path, modes=modes, toy=20.0, refused=("pipemare",))
    assert text is not None
    pipedream = _verdicts(text, "pipedream")
    assert [line.split(" | ")[1] for line in pipedream] == ["w-1f1b", "w-dni"]
    # 0.8 of 1f1b's time and 0.8 / 0.9 of dni's on every seed: faster than both.
    assert all("| met |" in line for line in pipedream)
    refused = _verdicts(text, "pipemare")
    assert len(refused) == 2
    assert all("| not applicable |" in line and "refuses a Conv1d" in line for line in refused)
    section = ttq_section(tmp_path)
    assert section is not None
    words = sorted(r.word for r in section.verdicts if "pipemare" in r.claim)
    assert words == ["not applicable", "not applicable"]
    refusals = [r for r in verdict_rows(section.verdicts) if "pipemare" in r["claim"]]
    assert all("refuses a Conv1d" in r["premise"] for r in refusals)
    assert len(section.verdicts) == 5  # dni; pipedream x 2; pipemare x 2
