"""Verdicts as data, and the findings a report opens with, written from them in words.

Every study's section hands back its verdicts as :class:`VerdictRecord`
(the claim, the verdict word, the estimate with its interval and how it
was formed, the goal, and the premise where it failed). The report build
then does two things with the same records, so the prose and the numbers
cannot disagree:

- it opens the report with a few sentences saying what was met (with the
  estimate and its interval), what was missed, what the measurement could
  not decide, and which premises failed (:func:`findings_sentences`);
- it writes every record to the run directory's verdicts file, one row per
  verdict (:func:`verdict_rows`; columns in :mod:`dnibench.rundir.layout`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dnibench.stats import Interval, Verdict

__all__ = ["VerdictRecord", "findings_sentences", "record_of_interval", "verdict_rows"]


@dataclass(frozen=True)
class VerdictRecord:
    """One verdict of one study, as it goes to the verdicts file and the findings."""

    study: str
    claim: str
    verdict: str
    """Starts with a word of :class:`Verdict` (a reason may follow after a colon)."""
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    level: float = math.nan
    method: str = ""
    """How the interval was formed ("paired by launch", "bootstrap", "point": none)."""
    n: int = 0
    goal: float = math.nan
    better: str = ""
    premise: str = ""
    """Why the verdict is "not testable" (the premise that failed), else ''."""

    @property
    def word(self) -> str:
        """The verdict word alone (``met``, ``not testable`` ...), without a reason."""
        for word in sorted((str(v) for v in Verdict), key=len, reverse=True):
            if self.verdict.startswith(word):
                return word
        return self.verdict.split(":", 1)[0].strip()

    def figure(self) -> str:
        """``1.23 [1.10, 1.31]`` or ``1.23`` (no interval), '' when nothing was measured."""
        if math.isnan(self.estimate):
            return ""
        if math.isnan(self.low) or math.isnan(self.high) or self.method == "point":
            return f"{self.estimate:.3g}"
        level = f", {self.level:.0%}" if not math.isnan(self.level) and self.level > 0 else ""
        return f"{self.estimate:.3g} [{self.low:.3g}, {self.high:.3g}{level}]"


def record_of_interval(
    study: str,
    claim: str,
    interval: Interval,
    goal: float,
    better: str,
    *,
    method: str | None = None,
    premise: str = "",
) -> VerdictRecord:
    """The record of a claim decided by ``interval`` (not testable when ``premise`` is set)."""
    if premise:
        verdict = f"{Verdict.NOT_TESTABLE}: {premise}"
    else:
        verdict = str(interval.decide(goal, "<" if better.startswith("<") else ">"))
    return VerdictRecord(
        study, claim, verdict, interval.estimate, interval.low, interval.high, interval.level,
        method or interval.method, interval.n, goal, better, premise,
    )  # fmt: skip


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))


def verdict_rows(records: Iterable[VerdictRecord]) -> list[dict[str, str]]:
    """One dict per record, keyed by the verdicts file's columns."""
    return [
        {
            "study": r.study,
            "claim": r.claim,
            "verdict": r.word,
            "estimate": _fmt(r.estimate),
            "low": _fmt(r.low),
            "high": _fmt(r.high),
            "level": _fmt(r.level),
            "method": r.method,
            "n": str(r.n),
            "goal": _fmt(r.goal),
            "better": r.better,
            "premise": r.premise,
        }
        for r in records
    ]


def _listed(records: Sequence[VerdictRecord], limit: int = 6) -> str:
    parts = []
    for r in records[:limit]:
        figure = r.figure()
        parts.append(f"{r.claim} ({figure})" if figure else r.claim)
    more = len(records) - limit
    text = "; ".join(parts)
    return text + (f"; and {more} more" if more > 0 else "")


def findings_sentences(records: Sequence[VerdictRecord]) -> list[str]:
    """A few sentences in words: what was met, missed, undecided, and which premises failed.

    Figures are estimates with their interval in brackets (and its coverage);
    the claims are quoted as each study states them. An empty list when no
    study gave a verdict.
    """
    if not records:
        return []
    by_word: dict[str, list[VerdictRecord]] = {}
    # Comparisons that carry an interval (what was faster, by how much) come first.
    for r in sorted(records, key=lambda r: r.method in ("", "point")):
        by_word.setdefault(r.word, []).append(r)
    order = [str(v) for v in Verdict]
    ranked = sorted(by_word.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    counts = ", ".join(f"{len(v)} {k}" for k, v in ranked)
    out = [f"{len(records)} verdicts: {counts}."]
    met, missed = by_word.get(Verdict.MET, []), by_word.get(Verdict.MISSED, [])
    if met:
        out.append("Met (estimate [interval, coverage] on the claimed side): " + _listed(met) + ".")
    if missed:
        out.append("Missed (on the other side of the goal): " + _listed(missed) + ".")
    if by_word.get(Verdict.INCONCLUSIVE):
        out.append(
            "Inconclusive (the interval straddles the goal; more launches or seeds could "
            "decide): " + _listed(by_word[Verdict.INCONCLUSIVE]) + "."
        )
    untestable = by_word.get(Verdict.NOT_TESTABLE, [])
    if untestable:
        by_premise: dict[str, list[str]] = {}
        for r in untestable:
            by_premise.setdefault(r.premise or "premise not stated", []).append(r.claim)
        reasons = []
        for premise, claims in list(by_premise.items())[:4]:
            shown = "; ".join(claims[:3]) + (
                f"; and {len(claims) - 3} more" if len(claims) > 3 else ""
            )
            reasons.append(f"{premise} (so not testable: {shown})")
        more = len(by_premise) - 4
        out.append(
            "Premises that failed: " + "; ".join(reasons)
            + (f"; and {more} more" if more > 0 else "") + "."
        )  # fmt: skip
    return out
