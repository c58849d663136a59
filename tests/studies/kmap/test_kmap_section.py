"""The K map section on the committed ttq run plus hand-made kmap curves.

The committed run (reports/ttq-cpu2-2026-12-03) gives the ttq benchmarks (the
measured K = 2 times) and the tput-* traces the simulator is calibrated on;
the kmap benchmarks and their curves are made up here, so the samples to
target are known: 1f1b reaches the target at 17920 samples at every K, dni at
35840 at K = 2 and never at K = 3 and 4.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from dnibench.studies.kmap.section import kmap_section

COMMITTED = Path(__file__).parents[3] / "reports" / "ttq-cpu2-2026-12-03"
TARGET = 0.98 * 0.9660


def _curve(name: str, reached_at: float) -> list[dict[str, object]]:
    rows = []
    for step in range(20, 601, 20):
        samples = step * 64
        accuracy = TARGET + 0.001 if samples >= reached_at else 0.5
        rows.append({"benchmark": name, "repeat": 0, "step": step, "samples": samples,
                     "test_accuracy": accuracy, "test_loss": 1.0, "train_loss": 1.0,
                     "seconds": math.nan, "wall_seconds": math.nan,
                     "wall_seconds_with_eval": math.nan, "cpu_seconds": math.nan})  # fmt: skip
    return rows


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(COMMITTED, out)
    config = json.loads((out / "config.json").read_text())
    template = next(e for e in config["benchmarks"] if e["kind"] == "ttq")
    rows = []
    for mode, reached in (("1f1b", {2: 17920, 3: 17920, 4: 17920}),
                          ("dni", {2: 35840, 3: math.inf, 4: math.inf})):  # fmt: skip
        for k in (2, 3, 4):
            entry = copy.deepcopy(template)
            name = f"kmap-mnist1d-conv1d-{mode}-k{k}"
            entry.update(name=name, kind="kmap", repeats=1)
            entry["spec"]["spec"].update(name=name, mode=mode, stages=k, depth=2 * k - 1,
                                         balance=[2] * k)  # fmt: skip
            config["benchmarks"].append(entry)
            rows += _curve(name, reached[k])
    # An asynchronous mode the ttq run timed (dist, K = 2) but no kmap benchmark replayed.
    entry = copy.deepcopy(template)
    entry.update(name="mnist1d-conv1d-pipedream")
    entry["spec"]["spec"].update(name="mnist1d-conv1d-pipedream", mode="pipedream")
    config["benchmarks"].append(entry)
    rows += _curve("mnist1d-conv1d-pipedream", 26880)
    (out / "config.json").write_text(json.dumps(config))
    curves = pd.read_csv(out / "curves.csv")
    pd.concat([curves, pd.DataFrame(rows)]).to_csv(out / "curves.csv", index=False)
    return out


def test_the_section_tables_the_samples_the_check_and_the_labelled_map(run_dir: Path) -> None:
    section = kmap_section(run_dir)
    assert section is not None
    text = section.markdown
    assert "| 1f1b | 17920 | 17920 | 17920 | 1/1/1 |" in text
    assert "| dni | 35840 | never | never | 1/1/1 |" in text
    assert "| K=2 | K=3 | K=4 | K=8* | K=16* | K=32* | K=64* |" in text
    assert "extrapolation (samples to target held at the largest measured K's" in text
    # The check: 1f1b's replayed samples over the simulated throughput against 5.57 s measured.
    check = next(line for line in text.splitlines() if line.startswith("| 1f1b | 2 | 4 |"))
    assert "| 17920 | 17920 |" in check and "| 5.57 |" in check
    assert all(path.is_file() for path in section.plots.values()) and section.plots
    claims = {r.claim: r for r in section.verdicts}
    error = claims[
        "mnist1d-conv1d 1f1b: predicted time to target at K=2, m=4 within 25% of measured"
    ]
    assert math.isfinite(error.estimate) and error.word in ("met", "missed")
    # dni never arrives at the measured K = 3, 4 and is twice as slow in samples at K = 2.
    dni = next(r for r in section.verdicts if r.claim.startswith("mnist1d-conv1d dni predicted"))
    assert dni.estimate > 1 and dni.word == "missed"


def test_an_asynchronous_mode_of_the_ttq_run_enters_the_map_extrapolated(run_dir: Path) -> None:
    section = kmap_section(run_dir)
    assert section is not None
    assert "Asynchronous modes without kmap benchmarks (pipedream)" in section.markdown
    assert any(line.startswith("| pipedream | 4 |") for line in section.markdown.splitlines())
    claim = next(r for r in section.verdicts if r.claim.startswith("mnist1d-conv1d pipedream"))
    assert claim.n == len((1, 4, 8, 16, 32, 64))  # K = 2 only is measured for it


def test_no_kmap_benchmark_no_section() -> None:
    assert kmap_section(COMMITTED) is None


def test_a_fixed_order_mode_not_replayed_at_the_ttq_k_takes_the_ttq_samples(run_dir: Path) -> None:
    # Drop the 1f1b replay at K = 2: 1f1b's order is fixed, so the ttq run's own K = 2
    # samples (17920 on the committed curves) fill the cell, marked as not replayed.
    config = json.loads((run_dir / "config.json").read_text())
    config["benchmarks"] = [
        e for e in config["benchmarks"] if e["name"] != "kmap-mnist1d-conv1d-1f1b-k2"
    ]
    (run_dir / "config.json").write_text(json.dumps(config))
    curves = pd.read_csv(run_dir / "curves.csv")
    curves = curves[curves["benchmark"] != "kmap-mnist1d-conv1d-1f1b-k2"]
    curves.to_csv(run_dir / "curves.csv", index=False)
    section = kmap_section(run_dir)
    assert section is not None
    assert "| 1f1b | 17920 † | 17920 | 17920 | 1/1 |" in section.markdown
    assert "| dni | 35840 | never | never | 1/1/1 |" in section.markdown  # dni is replayed
    assert "† not replayed: the ttq run's own samples at its K." in section.markdown
    check = next(
        line for line in section.markdown.splitlines() if line.startswith("| 1f1b | 2 | 4 |")
    )
    assert "| 17920 | 17920 |" in check  # the prediction still has its samples


def test_the_time_check_is_not_testable_where_neither_side_reaches_the_target(
    tmp_path: Path,
) -> None:
    """On the committed whole run, dni never reaches its target, replayed or measured: the
    check of predicted against measured *time* has nothing to compare, so it is not met."""
    full = Path(__file__).parents[3] / "reports" / "ttq-full-cpu2-2026-12-03"
    out = tmp_path / "run"
    shutil.copytree(full, out)
    section = kmap_section(out)
    assert section is not None
    checks = {r.claim.split(":")[0]: r for r in section.verdicts if "within" in r.claim}
    dni = checks["mnist1d-mlp dni"]
    assert dni.verdict == "not testable" and "neither" in dni.premise
    assert math.isnan(dni.estimate)
    one_f_one_b = checks["mnist1d-mlp 1f1b"]  # both reach it: a real error, within 25%
    assert one_f_one_b.verdict == "met" and abs(one_f_one_b.estimate) <= 0.25
