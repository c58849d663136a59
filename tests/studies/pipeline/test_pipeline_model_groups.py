"""Model groups: a gpt-* benchmark is set only against gpt-* baselines, in the decoupled
verdicts and the hardware-limit efficiency, on a hand-written run whose answers are known."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from dnibench.rundir.reader import load_run
from dnibench.studies.pipeline.hardware_limit import hardware_limit_efficiency
from dnibench.studies.pipeline.model_groups import (
    best_exact,
    exact_at,
    group_of,
    prefix_of,
    prefixes,
    rate,
)
from dnibench.studies.pipeline.verdicts import verdicts_section

FIELDS = ["benchmark", "mode", "stages", "microbatches", "metric", "stage", "repeat", "value",
          "unit"]  # fmt: skip


def write_run(out: Path, benches: list[tuple[str, str, int, list[float]]]) -> Path:
    """results.csv (launches in rounds, so interleaved) and config.json for ``benches``."""
    rows, specs = [], []
    for repeat in range(max(len(b[3]) for b in benches)):
        for name, mode, m, launches in benches:
            if repeat >= len(launches):
                continue
            stages = 1 if mode == "single" else 2
            base = {"benchmark": name, "mode": mode, "stages": stages, "microbatches": m,
                    "repeat": repeat, "unit": ""}  # fmt: skip
            rows.append({**base, "metric": "throughput", "stage": -1, "value": launches[repeat]})
            rows.append({**base, "metric": "pipeline_efficiency", "stage": -1, "value": 0.9})
    for name, mode, m, _ in benches:
        model = "gpt" if name.startswith("gpt-") else "mlp"
        threads = 2 if "single-all" in name else 1
        specs.append({"name": name, "spec": {"name": name, "mode": mode, "model": model,
                      "width": 64, "depth": 4, "stages": 2, "batch_size": 16,
                      "microbatches": m, "threads": threads, "spans": True}})  # fmt: skip
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "config.json").write_text(json.dumps({"benchmarks": specs}))
    return out


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    # The plain grid's MLP is far faster than the transformer: an unprefixed baseline would
    # make every gpt ratio tiny.
    return write_run(tmp_path, [
        ("1f1b-m8", "1f1b", 8, [1000.0, 1010.0, 990.0]),
        ("zb-m8", "zb", 8, [1100.0, 1090.0, 1110.0]),
        ("dni-m8", "dni", 8, [1200.0, 1210.0, 1190.0]),
        ("cdni-m8", "cdni", 8, [1150.0, 1150.0, 1150.0]),
        ("dni-sg16-m8", "dni", 8, [1300.0, 1300.0, 1300.0]),
        ("single-1t-m8", "single", 8, [700.0, 700.0, 700.0]),
        ("single-all-m8", "single", 8, [1250.0, 1250.0, 1250.0]),
        ("gpt-1f1b-m8", "1f1b", 8, [40.0, 41.0, 39.0]),
        ("gpt-zb-m8", "zb", 8, [42.0, 42.0, 42.0]),
        ("gpt-dni-m8", "dni", 8, [50.0, 51.0, 49.0]),
        ("gpt-single-1t-m8", "single", 8, [20.0, 20.0, 20.0]),
        ("gpt-single-all-m8", "single", 8, [45.0, 45.0, 45.0]),
    ])  # fmt: skip


def test_prefix_is_what_precedes_mode_and_m() -> None:
    assert prefix_of("gpt-dni-m8", "dni", 8) == "gpt-"
    assert prefix_of("dni-m8", "dni", 8) == ""
    assert prefix_of("cdni-m8", "dni", 8) is None  # dni-m8 inside cdni-m8 is not a match
    assert prefix_of("gpt-single-all-m4", "single", 4) == "gpt-"
    assert prefix_of("1f1b-m8-slow1", "1f1b", 8) == ""
    assert prefix_of("1f1b-m8-slow1", "1f1b", 8, exact=True) is None


def test_groups_come_from_exact_names_plain_grid_first(run_dir: Path) -> None:
    run = load_run(run_dir)
    groups = prefixes(run)
    assert groups == ["", "gpt-"]
    assert group_of("gpt-dni-sg16-m8", groups) == "gpt-"
    assert group_of("dni-sg16-m8", groups) == ""


def test_best_exact_stays_in_its_group(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert sorted(exact_at(run, 8, "gpt-")) == ["gpt-1f1b-m8", "gpt-zb-m8"]
    assert best_exact(run, 8, "gpt-") == "gpt-zb-m8"
    assert best_exact(run, 8) == "zb-m8"
    assert best_exact(run, 4, "gpt-") is None


def test_hardware_limit_reads_the_groups_single_thread(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert hardware_limit_efficiency(run, "gpt-dni-m8") == pytest.approx(50 / (2 * 20))
    assert hardware_limit_efficiency(run, "dni-m8") == pytest.approx(1200 / (2 * 700))


def test_gpt_dni_is_set_against_gpt_baselines_only(run_dir: Path) -> None:
    section = verdicts_section(run_dir)
    assert section is not None
    claims = {r.claim: r for r in section.verdicts}
    single = claims["gpt-dni-m8 faster than gpt-single-all-m8"]
    assert single.estimate == pytest.approx(50 / 45, rel=0.05)
    best = claims["gpt-dni-m8 faster than the best exact schedule (gpt-zb-m8)"]
    assert best.estimate == pytest.approx(50 / 42, rel=0.05)
    unprefixed = re.compile(r"(?<![\w-])(?:1f1b|zb|single-all)-m8")
    gpt_claims = [c for c in claims if c.startswith("gpt-dni-m8")]
    assert len(gpt_claims) == 2 and not any(unprefixed.search(c) for c in gpt_claims)
    assert "dni-m8 faster than the best exact schedule (zb-m8)" in claims
    rows = [line for line in section.markdown.splitlines() if line.startswith("| gpt-dni |")]
    assert len(rows) == 1 and "gpt-zb-m8 (42)" in rows[0]
    hw = [line for line in section.markdown.splitlines() if line.startswith("| 8 (gpt-*)")]
    assert len(hw) == 1 and "gpt-dni-m8 (50)" in hw[0] and "1.250" in hw[0]


def test_rate_keeps_small_throughputs_readable() -> None:
    assert rate(1234.4) == "1234"
    assert rate(6.1234) == "6.12"
    assert rate(float("nan")) == "—"
