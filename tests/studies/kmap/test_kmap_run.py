"""A kmap launch's rows: the ttq curve columns (one process's clocks dropped), samples to target."""

from __future__ import annotations

import math

from dnibench.runtimes.snapshot_eval import EvalPoint
from dnibench.runtimes.spec import BenchSpec
from dnibench.studies.kmap.run import KmapResult, kmap_curve_rows, kmap_rows
from dnibench.studies.ttq.keys import TTQConfig

POINTS = [EvalPoint(64 * s, s, 1.0, 2.0, 3.0, 0.1, 0.0, 0.5, 0.4, a)
          for s, a in ((1, 0.5), (2, 0.95), (3, 0.97))]  # fmt: skip
SPEC = BenchSpec(name="b", mode="dni", stages=3)


def test_kmap_curve_rows_keep_samples_and_drop_the_one_process_clocks() -> None:
    point = EvalPoint(64, 1, 1.0, 2.0, 3.0, 0.1, 0.0, 0.5, 0.4, 0.9)
    rows = kmap_curve_rows("b", KmapResult(SPEC, [point], 0), 2)
    assert rows[0]["samples"] == 64 and rows[0]["test_accuracy"] == 0.9 and rows[0]["repeat"] == 2
    assert math.isnan(float(str(rows[0]["wall_seconds"])))


def test_kmap_rows_read_samples_to_the_target_and_nan_when_never() -> None:
    result = KmapResult(SPEC, POINTS, 7)
    rows = {r["metric"]: r["value"] for r in kmap_rows(TTQConfig(SPEC, "w", 0.96), result, 0)}
    assert rows["samples_to_target"] == 128 and rows["seed"] == 7.0
    assert rows["best_test_accuracy"] == 0.97
    never = {r["metric"]: r["value"] for r in kmap_rows(TTQConfig(SPEC, "w", 1.0), result, 0)}
    assert math.isnan(float(str(never["samples_to_target"])))
    stages = {r["stages"] for r in kmap_rows(TTQConfig(SPEC, "w", 0.96), result, 0)}
    assert stages == {3}
