"""A language model's held-out figures beside the target metric: loss in nats/token and BPC.

The ttq suite times every workload to a target of a *higher-is-better*
metric: the calibration (0.98 of 1f1b's best), the floor check, the curve of
targets (0.90 ... 1.00 of the best) and "first reaches" are all written for
held-out accuracy. For the decoder LM that metric is next-token accuracy
(the share of held-out characters whose argmax prediction is right), so the
LM is timed by the same code as the classifiers, with no direction flag.
Why not held-out loss: a share of a loss does not read as a share of a
quality (0.98 of the best loss is a *better* loss than the best, 1.02 of it
is not "98% of the way"), and a second direction through the calibration,
the curve and the verdicts would be code the classifiers never exercise.
Next-token accuracy and loss move together on these curves, and the loss is
reported beside it here:

- ``best_test_loss`` and ``final_test_loss``: mean cross-entropy over the
  held-out windows' next-token targets, in nats per token (the curve's
  ``test_loss`` column holds it for every evaluation);
- ``best_test_bpc`` and ``final_test_bpc``: the same in bits per character,
  ``loss / ln 2``. The vocabulary is characters (``docs/transformer.md``), so
  a token is a character; characters too rare for the vocabulary are scored as
  ``<unk>``, which makes the figure a little lower than a byte-exact BPC.

Only runs on a token corpus (:data:`~dnibench.data.TOKEN_DATA`) get these
rows: a classifier's loss is already in the curve, and BPC means nothing there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dnibench.data import TOKEN_DATA
from dnibench.runtimes.snapshot_eval import EvalPoint
from dnibench.runtimes.spec import BenchSpec

NATS_PER_BIT = math.log(2.0)


def bits_per_character(loss_nats: float) -> float:
    """Cross-entropy in nats per character-token as bits per character."""
    return loss_nats / NATS_PER_BIT


def language_model_values(
    spec: BenchSpec, curve: Sequence[EvalPoint]
) -> list[tuple[str, float, str]]:
    """(metric, value, unit) rows of the held-out loss and BPC; [] unless ``spec`` is an LM's."""
    if spec.data not in TOKEN_DATA or not curve:
        return []
    losses = [p.test_loss for p in curve if math.isfinite(p.test_loss)]
    best = min(losses, default=math.nan)
    final = curve[-1].test_loss
    return [
        ("best_test_loss", best, "nats"),
        ("final_test_loss", final, "nats"),
        ("best_test_bpc", bits_per_character(best), "bits/char"),
        ("final_test_bpc", bits_per_character(final), "bits/char"),
    ]


__all__ = ["NATS_PER_BIT", "bits_per_character", "language_model_values"]
