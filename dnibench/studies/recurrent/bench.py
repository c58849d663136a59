"""Run one recurrent benchmark and turn it into tidy result rows and curve rows.

Result rows fit the session's tidy schema (benchmark, mode, stages,
microbatches, metric, stage, repeat, value, unit) with ``mode`` the regime
(``tbptt``, ``dni-tbptt``, ``dni-tbptt+aux``) and stage -1 / stages 1 /
microbatches 1, as nothing here is pipelined. Character-LM runs record
``samples_to_target`` / ``seconds_to_target`` (samples are characters) and
``test_loss`` like the training benchmarks, so the generic training table
lists them too; their own figures and tables come from :mod:`report`.

Character-LM rows: ``bpc`` is the test BPC at the best-validation
evaluation (the reported figure), ``final_test_bpc`` the test BPC at the end
of the budget, ``best_valid_bpc`` and ``best_chars`` locate the checkpoint,
``train_seconds`` are training CPU seconds and ``wall_seconds`` beside them
(on a GPU ``train_seconds`` are the synchronised wall seconds, ``wall_clock``
is 1 and ``cpu_seconds`` keeps the thread's CPU seconds; every kind records both),
``nonfinite_loss`` is 1 when the loss left the finite range (the run ended
there), and a DNI run adds its last SG-quality probe (``sg_cosine``,
``sg_relative_error``, ``sg_norm_ratio``, ``sg_carried_ratio``) and its
last SG-ceiling fit (:mod:`ceiling`: ``sg_r2`` and ``sg_heldout_cosine`` of
the learned SG, ``ceiling_r2`` / ``ceiling_cosine`` of the ridge ceiling at
the run's gamma, ``ceiling_r2_gamma1`` / ``ceiling_cosine_gamma1`` at gamma 1).

Curve rows go to ``rnn_curves.csv`` (:data:`CURVE_FIELDS`); a column that
means nothing for a kind (BPC for copy, length for rnn) is left empty.
Repeat r runs with seed + r, so the spread over repeats is the seed spread.
The corpus each benchmark read is recorded in ``corpus.json``
(:func:`write_provenance`) so runs on different text are never gated or
compared as one workload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from dnibench.rundir import writer
from dnibench.rundir.layout import RNN_CURVE_COLUMNS
from dnibench.studies.recurrent.ceiling import CeilingPoint
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.copy_bench import CopyResult, run_copy
from dnibench.studies.recurrent.device import resolve_device
from dnibench.studies.recurrent.lm_bench import LN2, LMPoint, LMResult, run_char_lm

CURVE_FIELDS = list(RNN_CURVE_COLUMNS)


@dataclass(frozen=True)
class ProgressFigures:
    """What ``dnibench run``'s progress line reads of a result (throughput, efficiency)."""

    throughput: float
    efficiency: float = math.nan


@dataclass(frozen=True)
class RecurrentRun:
    """One finished repeat of a recurrent benchmark."""

    name: str
    repeat: int
    result: LMResult | CopyResult
    device: str = "cpu"  # the torch device type it trained on

    @property
    def config(self) -> RecurrentConfig:
        return self.result.config

    @property
    def metrics(self) -> ProgressFigures:
        """Characters per training second, for the run command's progress line."""
        final = self.result.final
        return ProgressFigures(final.chars / final.seconds if final.seconds else math.nan)

    def rows(self) -> list[dict[str, object]]:
        """Tidy result rows of this repeat."""
        config, final = self.config, self.result.final
        values: list[tuple[str, float, str]] = [
            ("chars", final.chars, "chars"),
            ("train_seconds", final.seconds, "s"),
            ("throughput", self.metrics.throughput, "chars/s"),
            ("cpu_seconds", final.cpu_seconds, "s"),
            ("wall_clock", float(self.device == "cuda"), "flag"),
        ]
        if isinstance(self.result, LMResult):
            chars, seconds = self.result.to_target(config.target_bpc)
            best, final = self.result.best, self.result.final
            values += [
                ("bpc", best.test_bpc, "bits/char"),
                ("best_valid_bpc", best.valid_bpc, "bits/char"),
                ("best_chars", best.chars, "chars"),
                ("final_test_bpc", final.test_bpc, "bits/char"),
                ("test_loss", best.test_bpc * LN2, "nats"),
                ("train_bpc", final.train_bpc, "bits/char"),
                ("wall_seconds", final.wall_seconds, "s"),
                ("nonfinite_loss", float(self.result.nonfinite_at is not None), "flag"),
                ("samples_to_target", chars, "chars"),
                ("seconds_to_target", seconds, "s"),
            ]
            if config.target_bpc is not None:
                values.append(("target_bpc", config.target_bpc, "bits/char"))
            if config.mode == "dni-tbptt":
                sg = final.sg
                values += [
                    ("sg_cosine", sg.cosine, "ratio"),
                    ("sg_relative_error", sg.relative_error, "ratio"),
                    ("sg_norm_ratio", sg.norm_ratio, "ratio"),
                    ("sg_carried_ratio", sg.carried_ratio, "ratio"),
                    *ceiling_values(final.ceiling),
                ]
        else:
            values += [("wall_seconds", final.wall_seconds, "s"), *self.result.metric_values()]
        base = {
            "benchmark": self.name,
            "mode": config.regime,
            "stages": 1,
            "microbatches": 1,
            "stage": -1,
            "repeat": self.repeat,
        }
        return [{**base, "metric": m, "value": float(v), "unit": u} for m, v, u in values]

    def curve_rows(self) -> list[dict[str, object]]:
        """One row per curve point of this repeat, in :data:`CURVE_FIELDS`."""
        rows = []
        for point in self.result.curve:
            row: dict[str, object] = dict.fromkeys(CURVE_FIELDS, "")
            row.update(
                benchmark=self.name,
                kind=self.config.kind,
                repeat=self.repeat,
                chars=point.chars,
                seconds=round(point.seconds, 4),
            )
            if isinstance(point, LMPoint):
                row.update(
                    train_bpc=point.train_bpc,
                    test_bpc=point.test_bpc,
                    valid_bpc=point.valid_bpc,
                    wall_seconds=round(point.wall_seconds, 4),
                )
                if self.config.mode == "dni-tbptt":
                    row.update(
                        sg_cosine=point.sg.cosine,
                        sg_relative_error=point.sg.relative_error,
                        sg_norm_ratio=point.sg.norm_ratio,
                        sg_carried_ratio=point.sg.carried_ratio,
                    )
            else:
                row.update(
                    length=point.length,
                    longest_solved=point.longest_solved,
                    error_bits=point.error_bits,
                )
            rows.append(row)
        return rows

    def write_provenance(self, out: Path) -> None:
        """Record this benchmark's corpus in ``out/corpus.json`` (one entry per benchmark)."""
        if not isinstance(self.result, LMResult) or not self.result.provenance:
            return
        writer.write_corpus(out, self.name, self.result.provenance)


def ceiling_values(point: CeilingPoint) -> list[tuple[str, float, str]]:
    """Result rows of the last SG-ceiling fit: learned SG and ridge ceiling, held out."""
    return [
        ("sg_r2", point.learned_r2, "ratio"),
        ("sg_heldout_cosine", point.learned_cosine, "ratio"),
        ("ceiling_r2", point.ceiling_r2, "ratio"),
        ("ceiling_cosine", point.ceiling_cosine, "ratio"),
        ("ceiling_r2_gamma1", point.undiscounted_r2, "ratio"),
        ("ceiling_cosine_gamma1", point.undiscounted_cosine, "ratio"),
        ("ceiling_alpha", point.alpha, "ratio"),
    ]


def run_recurrent(name: str, config: RecurrentConfig | None, repeat: int) -> RecurrentRun:
    """Run repeat ``repeat`` (seed + repeat) of the recurrent benchmark ``name``."""
    if config is None:
        raise ValueError(f"benchmark {name!r} has no recurrent configuration")
    seeded = config.seeded(repeat)
    device = resolve_device(name, config.device)
    result = run_char_lm(seeded, device) if config.kind == "rnn" else run_copy(seeded, device)
    return RecurrentRun(name, repeat, result, device.type)


__all__ = ["CURVE_FIELDS", "ProgressFigures", "RecurrentRun", "run_recurrent"]
