"""Targets and the one vocabulary of verdict words every report uses.

A verdict is a measurement too: each study states a goal, measures the
figure in the same run, and says how it came out in one of the words of
:class:`Verdict`, so a reader of any report (pipeline, gpu, feed-forward,
recurrent) meets the same words with the same meaning. A comparison's
"faster" or "slower" is the ``met`` or ``missed`` of its stated claim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dnibench.report.findings import VerdictRecord
from dnibench.report.tables import MISSING, fmt
from dnibench.stats import Interval
from dnibench.stats.words import Verdict

COMPARATORS = ("<=", "<", ">", ">=")


@dataclass(frozen=True)
class Target:
    """One target: measured value, the goal, and whether it is met (``better`` is a comparator).

    ``untestable`` holds the reason when the target's premise failed in this
    run: the verdict is then "not testable", whatever the measured value.
    ``hint`` says what would change a missed target; ``detail`` how the
    figure was measured (the pipeline and gpu tables show it).
    """

    name: str
    measured: float
    goal: float
    better: str  # one of COMPARATORS
    hint: str = ""
    spec: str = ".3f"
    untestable: str | None = None
    detail: str = ""
    interval: Interval | None = None
    """When set, the verdict comes from the interval (met / missed / inconclusive), not the
    point estimate: the claim must hold over the whole interval."""

    def __post_init__(self) -> None:
        if self.better not in COMPARATORS:
            raise ValueError(f"better must be one of {COMPARATORS}, got {self.better!r}")

    @property
    def met(self) -> bool | None:
        """True or False once measured against a goal; None when it cannot be judged."""
        if self.untestable is not None or math.isnan(self.measured) or math.isnan(self.goal):
            return None
        if self.interval is not None:
            word = self.interval.decide(self.goal, "<" if self.better.startswith("<") else ">")
            return {Verdict.MET: True, Verdict.MISSED: False}.get(word)
        return {
            "<=": self.measured <= self.goal,
            "<": self.measured < self.goal,
            ">=": self.measured >= self.goal,
            ">": self.measured > self.goal,
        }[self.better]

    @property
    def verdict(self) -> str:
        """The verdict word, with the reason where the premise failed."""
        if self.untestable is not None:
            return f"{Verdict.NOT_TESTABLE}: {self.untestable}"
        if self.met is None and math.isnan(self.goal) and not math.isnan(self.measured):
            return str(Verdict.QUOTED)
        if self.met is None and self.interval is not None and self.interval.n > 0:
            return f"{Verdict.INCONCLUSIVE} (interval straddles the goal)"
        return str({True: Verdict.MET, False: Verdict.MISSED, None: Verdict.NOT_MEASURED}[self.met])

    @property
    def missed_by(self) -> float:
        """How far the measured value is on the wrong side of the goal (0 when met)."""
        if self.met is None:
            return math.nan
        return 0.0 if self.met else abs(self.measured - self.goal)

    def row(self) -> str:
        """One Markdown row: measured, goal, verdict, missed by, what would change it."""
        missed = MISSING if self.met in (True, None) else fmt(self.missed_by, self.spec)
        measured = fmt(self.measured, self.spec)
        if self.interval is not None and self.interval.n > 0:
            low, high = fmt(self.interval.low, self.spec), fmt(self.interval.high, self.spec)
            measured += f" [{low}, {high}]"
        if math.isinf(self.measured):
            measured, missed = "never reached", "never reached"
        if self.met is False and self.missed_by == 0:
            missed = "tie (must be strictly better)"
        hint = self.hint if self.met is False else ""
        return (
            f"| {self.name} | {measured} | {self.better} "
            f"{fmt(self.goal, self.spec)} | {self.verdict} | {missed} | {hint} |"
        )

    def detail_row(self) -> str:
        """The target as one Markdown row: measured, goal, verdict (with the gap), detail."""
        verdict = self.verdict
        if self.met is False:
            verdict += f" by {self.missed_by:.3f}"
        measured = f"{self.measured:.3f}"
        if self.interval is not None and self.interval.n > 0:
            measured += f" [{self.interval.low:.3f}, {self.interval.high:.3f}]"
        cells = [self.name, measured, f"{self.better} {self.goal:g}", verdict,
                 self.detail]  # fmt: skip
        return "| " + " | ".join(cells) + " |"

    def record(self, study: str) -> VerdictRecord:
        """This target as a row of the verdicts file (an interval where it has one)."""
        i = self.interval
        return VerdictRecord(
            study, self.name, self.verdict, self.measured,
            i.low if i else math.nan, i.high if i else math.nan, i.level if i else math.nan,
            i.method if i else "point", i.n if i else 0, self.goal, self.better,
            self.untestable or "",
        )  # fmt: skip


__all__ = ["COMPARATORS", "Target", "Verdict"]
