"""The split-backward cost: D + W of a zb run against B of its 1f1b twin, from traces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dnibench.errors import UserError
from dnibench.instrument import SpanKind, write_chrome_trace
from dnibench.studies.pipeline.split_backward import (
    split_backward_costs,
    split_backward_markdown,
    split_backward_pairs,
    split_backward_section,
)

MS = 1_000_000  # ns
BASE = {"model": "mlp", "stages": 2, "microbatches": 1, "steps": 3, "warmup": 1, "spans": True}


def _spans(rows: list[tuple[SpanKind, float, float]]) -> np.ndarray:
    return np.array([(int(k), 0, round(a * MS), round(b * MS)) for k, a, b in rows], np.int64)


def _launch(path: Path, backward: dict[int, list[tuple[SpanKind, float]]]) -> None:
    """Three 10 ms steps; step 0 (the warm-up) has slower backwards, which must not count."""
    stages = []
    for k, pieces in backward.items():
        rows = []
        for s in range(3):
            t = 10.0 * s
            rows += [(SpanKind.STEP, t, t + 9), (SpanKind.FORWARD, t, t + 1)]
            start = t + 1
            for kind, length in pieces:
                length = length * (3 if s == 0 else 1)
                rows.append((kind, start, start + length))
                start += length
        stages.append((k, _spans(rows)))
    write_chrome_trace(path, [spans for _, spans in sorted(stages)])


def _run(tmp_path: Path, zb_launches: list[float], *, twin_changes: dict | None = None) -> Path:
    """A run with ``zb-m1`` (one launch per W length in ``zb_launches``) and ``1f1b-m1``."""
    specs = [
        {"name": "zb-m1", "mode": "zb", **BASE},
        {"name": "1f1b-m1", "mode": "1f1b", **BASE, **(twin_changes or {})},
        {"name": "gpipe-m1", "mode": "gpipe", **BASE},
    ]
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = {"benchmarks": [{"kind": "pipeline", "spec": spec} for spec in specs]}
    (tmp_path / "config.json").write_text(json.dumps(config))
    traces = tmp_path / "traces"
    traces.mkdir()
    for r, weight in enumerate(zb_launches):
        split = [(SpanKind.BACKWARD_INPUT, 1.0), (SpanKind.BACKWARD_WEIGHT, weight)]
        _launch(traces / f"zb-m1-r{r}.json", {0: split, 1: split})
    _launch(traces / "1f1b-m1.json", {0: [(SpanKind.BACKWARD, 2.0)], 1: [(SpanKind.BACKWARD, 4.0)]})
    return tmp_path


def test_costs_per_stage_over_the_steady_window_and_the_launches(tmp_path: Path) -> None:
    run = _run(tmp_path, [1.5, 2.5])
    costs = split_backward_costs(run, "zb-m1", "1f1b-m1")
    assert [c.stage for c in costs] == [0, 1]
    first, second = costs
    assert (first.input_s, first.weight_s, first.fused_s) == pytest.approx((1e-3, 2e-3, 2e-3))
    assert first.ratio == pytest.approx(1.5)
    assert second.ratio == pytest.approx(0.75)
    # Launch by launch against the one fused launch: (1 + 1.5) / 2 and (1 + 2.5) / 2, stage 0.
    assert first.ratios == pytest.approx((1.25,))


def test_pairs_find_the_twin_with_the_same_spec_only(tmp_path: Path) -> None:
    assert split_backward_pairs(_run(tmp_path / "a", [1.0])) == [("zb-m1", "1f1b-m1")]
    assert split_backward_pairs(_run(tmp_path / "b", [1.0], twin_changes={"microbatches": 8})) == []


def test_the_section_is_a_table_and_none_without_a_pair(tmp_path: Path) -> None:
    section = split_backward_section(_run(tmp_path / "a", [1.0]))
    assert section is not None
    assert "| 0 | 1.000 | 1.000 | 2.000 | 2.000 | 1.000 |" in section
    assert "| 1 | 1.000 | 1.000 | 2.000 | 4.000 | 0.500 |" in section
    assert split_backward_section(_run(tmp_path / "b", [1.0], twin_changes={"seed": 3})) is None


def test_a_pair_that_never_ran_reads_not_measured_and_the_rest_still_renders(
    tmp_path: Path,
) -> None:
    """An interrupted run: the zb benchmark and its twin are in the config, not in traces/."""
    run = _run(tmp_path, [1.0])
    for trace in (run / "traces").glob("zb-m1*"):
        trace.unlink()
    section = split_backward_section(run)
    assert section is not None
    assert "`zb-m1` against `1f1b-m1`: not measured" in section
    assert "no trace for zb-m1" in section


def test_a_zb_trace_without_split_spans_is_refused(tmp_path: Path) -> None:
    run = _run(tmp_path, [1.0])
    with pytest.raises(UserError, match="no trace for gpipe-m1"):
        split_backward_costs(run, "gpipe-m1", "1f1b-m1")
    with pytest.raises(UserError, match="backward_input span"):
        split_backward_costs(run, "1f1b-m1", "1f1b-m1")


def test_markdown_shows_a_dash_where_there_is_no_fused_backward() -> None:
    from dnibench.studies.pipeline.split_backward import SplitBackwardCost

    table = split_backward_markdown([SplitBackwardCost(0, 1e-3, 1e-3, 0.0, ())], "zb", "1f1b")
    assert table.splitlines()[-1] == "| 0 | 1.000 | 1.000 | 2.000 | 0.000 | — | — |"


def test_the_pipeline_verdicts_read_the_torch_pair_through_the_same_costs(tmp_path: Path) -> None:
    """torch-zb against torch-1f1b is measured by split_backward_costs, not a second copy."""
    import pandas as pd

    from dnibench.rundir.layout import RESULT_COLUMNS
    from dnibench.rundir.reader import load_run
    from dnibench.studies.pipeline.verdicts import _split_lines

    split, fused = "torch-zb-m8", "torch-1f1b-m8"
    specs = [
        {"name": split, "mode": "torch-zb", **BASE},
        {"name": fused, "mode": "torch-1f1b", **BASE},
    ]
    (tmp_path / "config.json").write_text(
        json.dumps({"benchmarks": [{"kind": "pipeline", "spec": spec} for spec in specs]})
    )
    (tmp_path / "traces").mkdir()
    halves = [(SpanKind.BACKWARD_INPUT, 1.0), (SpanKind.BACKWARD_WEIGHT, 1.5)]
    _launch(tmp_path / "traces" / f"{split}.json", {0: halves, 1: halves})
    fused_b = {0: [(SpanKind.BACKWARD, 2.0)], 1: [(SpanKind.BACKWARD, 5.0)]}
    _launch(tmp_path / "traces" / f"{fused}.json", fused_b)
    row = {"stages": 2, "microbatches": 8, "metric": "throughput", "stage": -1, "repeat": 0,
           "value": 100.0, "unit": "samples/s"}  # fmt: skip
    rows = [{"benchmark": spec["name"], "mode": spec["mode"], **row} for spec in specs]
    pd.DataFrame(rows, columns=list(RESULT_COLUMNS)).to_csv(tmp_path / "results.csv", index=False)
    costs = split_backward_costs(tmp_path, split, fused)
    lines = _split_lines(load_run(tmp_path))
    assert lines[2:] == [
        f"| {split} vs {fused} | {c.stage} | {c.split_s * 1e3:.3f} | {c.fused_s * 1e3:.3f} | "
        f"{c.ratio:.3f} |"
        for c in costs
    ]
    assert [round(c.ratio, 3) for c in costs] == [1.25, 0.5]
