"""What the gate found: one row per check, and the report that renders them.

Kept apart from the statistics so a CLI or a CI summary can render, filter or
serialise a :class:`CheckReport` without pulling in the test machinery, and
so the order of the report (regressions first, worst first) is defined once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dnibench.gate.runs import PIPELINE


class Verdict(StrEnum):
    """Outcome of one check; the order here is the order of the report."""

    REGRESSION = "REGRESSION"
    MISSING = "MISSING"
    IMPROVED = "IMPROVED"
    NOT_ENOUGH_DATA = "NOT ENOUGH DATA"
    NOT_MEASURED = "NOT MEASURED"
    NEW = "NEW"
    OK = "OK"


FAILING = frozenset({Verdict.REGRESSION, Verdict.MISSING})
COMPARED = frozenset({Verdict.REGRESSION, Verdict.IMPROVED, Verdict.OK})
"""Verdicts of a comparison that had enough data to decide."""
_ORDER = {verdict: index for index, verdict in enumerate(Verdict)}


@dataclass(frozen=True)
class GateRow:
    """One check: a benchmark's metric (at one stage) or a ratio, and its verdict.

    ``change`` is the relative change of the medians, (current - baseline) /
    baseline; ``p_value`` is the one-sided test in the direction the medians
    moved (NaN where no test ran).
    """

    kind: str  # "benchmark" or "ratio"
    name: str
    metric: str
    verdict: Verdict
    stage: int = PIPELINE
    baseline_median: float = math.nan
    current_median: float = math.nan
    change: float = math.nan
    p_value: float = math.nan
    n_baseline: int = 0
    n_current: int = 0
    threshold: float = math.nan
    higher_is_better: bool = True
    detail: str = ""

    @property
    def label(self) -> str:
        return self.name if self.stage == PIPELINE else f"{self.name} [stage {self.stage}]"

    @property
    def worsening(self) -> float:
        """How much worse (positive) or better (negative); 0 when unknown."""
        if math.isnan(self.change):
            return 0.0
        return -self.change if self.higher_is_better else self.change


@dataclass
class CheckReport:
    """Every check of a baseline/current comparison, with a verdict each."""

    baseline: Path
    current: Path
    alpha: float
    rows: list[GateRow] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A regression or a benchmark missing from the current run fails the gate."""
        return any(row.verdict in FAILING for row in self.rows)

    @property
    def inconclusive(self) -> bool:
        """Nothing failed, but no comparison had enough data: the gate decided nothing.

        A pass would be a lie (every row NOT ENOUGH DATA, or every ratio NOT
        MEASURED), so ``check`` exits 2 and says what to record.
        """
        return not self.failed and not any(row.verdict in COMPARED for row in self.rows)

    def with_verdict(self, verdict: Verdict) -> list[GateRow]:
        return [row for row in self.rows if row.verdict == verdict]

    @property
    def regressions(self) -> list[GateRow]:
        return self.with_verdict(Verdict.REGRESSION)

    def sorted_rows(self) -> list[GateRow]:
        """Regressions first, worst first; then missing, improved, the rest."""
        return sorted(
            self.rows,
            key=lambda r: (_ORDER[r.verdict], -r.worsening, r.kind, r.name, r.metric, r.stage),
        )

    def summary(self) -> str:
        counts = {verdict: len(self.with_verdict(verdict)) for verdict in Verdict}
        parts = [
            f"{count} {verdict.lower()}{'s' if verdict == Verdict.REGRESSION and count > 1 else ''}"
            for verdict, count in counts.items()
            if count
        ]
        head = "FAIL" if self.failed else "NO DECISION" if self.inconclusive else "PASS"
        return f"{head}: {', '.join(parts)} ({len(self.rows)} checks, alpha {self.alpha:g})"

    def table(self) -> str:
        """An aligned text table, regressions first, then a one-line summary."""
        header = (
            "verdict",
            "benchmark / ratio",
            "metric",
            "baseline",
            "current",
            "change",
            "p",
            "n base/cur",
            "detail",
        )
        body = [
            (
                str(row.verdict),
                row.label,
                row.metric,
                _number(row.baseline_median),
                _number(row.current_median),
                _percent(row.change),
                "-" if math.isnan(row.p_value) else f"{row.p_value:.2g}",
                f"{row.n_baseline}/{row.n_current}",
                row.detail,
            )
            for row in self.sorted_rows()
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        right = {3, 4, 5, 6, 7}

        def render(line: Sequence[str]) -> str:
            cells = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            return "  ".join(cells).rstrip()

        lines = [
            f"baseline {self.baseline}  vs  current {self.current}",
            render(header),
            render(["-" * width for width in widths]),
            *(render(line) for line in body),
            self.summary(),
        ]
        return "\n".join(lines)


def _number(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4g}"


def _percent(change: float) -> str:
    if math.isnan(change):
        return "-"
    if math.isinf(change):
        return "+inf%" if change > 0 else "-inf%"
    return f"{change * 100:+.1f}%"
