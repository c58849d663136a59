"""The ttq kind's suite keys, and how one grid point becomes a :class:`TTQConfig`.

A ttq benchmark is a pipeline benchmark (every pipeline key applies) that
trains on a named data set and evaluates on its held-out split every
``eval_every`` steps. Its target is written in the suite, with where it came
from: ``calibration_best`` is the median best held-out metric of 1f1b on the
calibration seeds (:data:`~dnibench.stats.CALIBRATION_SEEDS`, found by
``python -m dnibench.studies.ttq.calibrate``), and the target is
``target_share`` times it. Repeat r runs seed ``seed + r``; a suite that
states a calibrated target must not run on a calibration seed, so the target
is never judged on the runs it was chosen from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dnibench.data.lm_windows import TOKEN_DATA
from dnibench.errors import UserError
from dnibench.runtimes.spec import BenchSpec
from dnibench.stats import CALIBRATION_SEEDS, check_disjoint
from dnibench.studies.item import Item
from dnibench.studies.keys import Key
from dnibench.studies.pipeline.keys import PIPELINE_KEYS, build_pipeline

TTQ = "ttq"
TARGET_SHARE = 0.98
"""The target: this share of 1f1b's median best metric on the calibration seeds."""
CURVE_SHARES = (0.90, 0.95, 0.98, 1.00)
"""The time-to-quality curve: time to each of these shares of the calibration best."""

TTQ_KEYS = (
    *(key for key in PIPELINE_KEYS if key.name != "data"),
    Key(
        "data",
        "str",
        choices=("digits", "mnist1d", *TOKEN_DATA),
        note="a data set with a held-out split",
    ),
    Key("eval_every", "int", minimum=1, note="steps between evaluations (and the last step)"),
    Key("workload", "str", note="the group the regimes are compared in"),
    Key("calibration_best", "float", above=0, maximum=1),
    Key("floor_best", "float", minimum=0, maximum=1),
    Key("target_share", "float", above=0, maximum=1),
    Key("held_out", "int", minimum=0, note="test examples scored, evenly spaced (0: all)"),
)


@dataclass(frozen=True)
class TTQConfig:
    """One ttq benchmark: the pipeline it trains and the target it is timed to.

    ``calibration_best`` (None: not calibrated yet, a calibration run) and
    ``floor_best`` (the last-stage-only floor's median best metric on the
    same calibration seeds) are what the suite recorded.
    """

    spec: BenchSpec
    workload: str
    calibration_best: float | None = None
    floor_best: float | None = None
    target_share: float = TARGET_SHARE
    calibration_seeds: tuple[int, ...] = field(default=CALIBRATION_SEEDS)
    held_out: int = 0
    """Test examples each evaluation scores, evenly spaced over the split (0: all of it)."""

    @property
    def target(self) -> float | None:
        """The target metric (held-out accuracy), None before calibration."""
        if self.calibration_best is None:
            return None
        return self.target_share * self.calibration_best


def seeds_of(spec: BenchSpec, repeats: int) -> list[int]:
    """The seeds a benchmark runs: ``seed + r`` for each repeat r."""
    return [spec.seed + r for r in range(repeats)]


def build_ttq(item: Item, values: Mapping[str, Any]) -> Item:
    """The item with its spec (evaluation on) and its ttq configuration."""
    pipeline_values = {
        k: v
        for k, v in values.items()
        if k not in ("workload", "calibration_best", "floor_best", "target_share", "held_out")
    }
    pipeline_values.setdefault("eval_every", 10)
    spec = build_pipeline(item.name, item.runtime, pipeline_values)
    if spec.data == "synthetic":
        raise UserError("a ttq benchmark needs a data set with a held-out split: set data")
    config = TTQConfig(
        spec=spec,
        workload=values.get("workload", f"{spec.data}-{spec.model}"),
        calibration_best=values.get("calibration_best"),
        floor_best=values.get("floor_best"),
        target_share=values.get("target_share", TARGET_SHARE),
        held_out=values.get("held_out", 0),
    )
    if config.calibration_best is not None:
        try:
            check_disjoint(CALIBRATION_SEEDS, seeds_of(spec, item.repeats), item.name)
        except ValueError as error:
            raise UserError(str(error)) from None
    return replace(item, spec=spec, config=config)


def ttq_body(item: Item) -> TTQConfig:
    """The configuration the run records (the spec as rewritten by the command's options)."""
    assert isinstance(item.config, TTQConfig), f"ttq benchmark {item.name} has no configuration"
    return item.config if item.spec is None else replace(item.config, spec=item.spec)


__all__ = [
    "CURVE_SHARES", "TARGET_SHARE", "TTQ", "TTQ_KEYS", "TTQConfig", "build_ttq", "seeds_of",
    "ttq_body",
]  # fmt: skip
