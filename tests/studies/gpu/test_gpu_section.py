"""The GPU section's gpu-quick additions on hand-made result rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dnibench.studies.gpu.overlap import overlap, premise
from dnibench.studies.gpu.section import gpu_section, gpu_section_markdown

MODES = ("sequential", "gpipe", "1f1b", "dni", "cdni", "unlock")


def _rows(
    bench: str, busy: list[float], gpus: int, throughput: float, **extra: float
) -> list[dict]:
    base = {"benchmark": bench, "mode": bench.split("-")[1], "stages": len(busy),
            "microbatches": 8, "repeat": 0, "unit": "ratio"}  # fmt: skip
    rows = [{**base, "metric": "busy_fraction", "stage": k, "value": b} for k, b in enumerate(busy)]
    for metric, value in {"throughput": throughput, "pipeline_efficiency": 0.8,
                          "stream_gpus": gpus, **extra}.items():  # fmt: skip
        rows.append({**base, "metric": metric, "stage": 0 if metric.startswith("gpu_") else -1,
                     "value": value})  # fmt: skip
    return rows


def _frame(large_busy: float, small_busy: float, gpus: int = 1, **extra: float) -> pd.DataFrame:
    rows = []
    for suffix, busy in (("", large_busy), ("-small", small_busy)):
        for mode in MODES:
            for m in (1, 8):
                rows += _rows(f"streams-{mode}-m{m}{suffix}", [busy] * 4, gpus, 100.0, **extra)
        rows += _rows(f"streams-single-m8{suffix}", [0.99], gpus, 80.0, **extra)
    return pd.DataFrame(rows)


def _part(markdown: str, start: str, end: str) -> list[str]:
    return markdown[markdown.index(start) : markdown.index(end)].splitlines()


def test_overlap_is_the_sum_of_stage_busy() -> None:
    frame = _frame(0.25, 0.5)
    assert overlap(frame, "streams-dni-m8") == pytest.approx(1.0)
    assert premise(frame, "small")[0] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("large", "small", "gpus", "verdict"),
    [
        (0.28, 0.5, 1, "Overlap premise held"),
        (0.5, 0.5, 1, "Overlap premise FAILED"),  # the large size overlaps too
        (0.28, 0.3, 1, "Overlap premise FAILED"),  # the small size does not overlap
        (0.28, 0.5, 0, "Overlap premise not tested"),  # the CPU stand-in
    ],
)
def test_the_premise_is_checked_in_the_same_run(
    large: float, small: float, gpus: int, verdict: str
) -> None:
    markdown = gpu_section_markdown(_frame(large, small, gpus))
    assert markdown is not None and verdict in markdown


def test_span_idle_is_held_against_nvml_and_sm_activity() -> None:
    telemetry = {
        "gpu_utilisation_window": 98.0,
        "gpu_sm_active_window": 30.0,
        "gpu_energy_window": 50.0,
        "gpu_energy_per_sample_window": 0.01,
        "gpu_power_window": 500.0,
        "gpu_energy": 80.0,
        "gpu_energy_per_sample": 0.016,
    }
    frame = _frame(0.28, 0.5, **telemetry)
    markdown = gpu_section_markdown(frame, facts={"idle_power_w": 100.0, "gpu": "NVIDIA H200"})
    assert markdown is not None
    spans = _part(markdown, "### Span idle against NVML", "### Energy per sample")
    row = next(line for line in spans if line.startswith("| streams-dni-m8-small |"))
    # Stages busy 0.5 each: NVML's 98 % lies between 0.5 and min(1, 2.0); SMs mostly idle.
    assert "0.50 / 0.50 / 0.50 / 0.50" in row and "within the span range" in row
    assert "only 30 % of SMs busy" in row
    large = next(line for line in spans if line.startswith("| streams-dni-m8 |"))
    assert "0.72 / 0.72 / 0.72 / 0.72" in large  # 98 % lies within [0.28, min(1, 4 x 0.28)]
    energy = _part(markdown, "### Energy per sample", "### Streams pipeline efficiency")
    row = next(line for line in energy if line.startswith("| streams-dni-m8 |"))
    # 0.01 J/sample at 500 W against 100 W idle: 0.008 J/sample above idle.
    assert "| 0.01 | 0.008 | 500 | 0.016 |" in row
    assert "Idle power: 100.0 W" in markdown and "gpu NVIDIA H200" in markdown


def test_without_nvml_every_heading_still_renders_and_says_why() -> None:
    markdown = gpu_section_markdown(_frame(0.28, 0.5, gpus=0))
    assert markdown is not None
    assert "No NVML readings in this run" in markdown
    assert "No GPU energy reading in this run" in markdown
    assert "### Streams pipeline efficiency" in markdown


def test_declared_ratios_come_from_config_json_with_the_premise(tmp_path: Path) -> None:
    frame = _frame(0.28, 0.5)
    frame.to_csv(tmp_path / "results.csv", index=False)
    ratios = [{"name": "dni_over_single_m8_small", "numerator": "streams-dni-m8-small",
               "denominator": "streams-single-m8-small", "metric": "throughput"},
              {"name": "gone", "numerator": "streams-x", "denominator": "streams-y"}]  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"ratios": ratios}))
    markdown = gpu_section(tmp_path)
    assert markdown is not None
    row = next(
        line for line in markdown.splitlines() if line.startswith("| dni_over_single_m8_small")
    )
    assert "| 100 | 80 | 1.250 | small size, overlap 2.00 |" in row
    assert "| gone |" not in markdown  # a ratio whose benchmarks did not run is left out


def test_nvml_busier_than_any_span_is_called_a_disagreement() -> None:
    frame = _frame(0.1, 0.1, gpu_utilisation_window=90.0)
    markdown = gpu_section_markdown(frame)
    assert markdown is not None and "NVML busier than every span" in markdown
    assert "No SM activity reading" in markdown  # no GPM rows: said, not shown as zero
