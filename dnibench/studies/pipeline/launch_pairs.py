"""Two benchmarks' throughputs compared over launches: paired where interleaved, else bootstrapped.

The session runs launches in rounds (launch 0 of every benchmark, then
launch 1 of every benchmark, ...; see :func:`dnibench.bench.session.run_session`),
so launch r of A and launch r of B ran minutes apart on the same machine
state: a slow spell hits both. Such launches are paired by launch index and
the ratio A/B is taken launch by launch (:func:`dnibench.stats.paired`).
Whether two benchmarks really were interleaved is read from the run itself:
``results.csv`` is appended as each launch ends, so the order of each
launch's first row is the order they ran in. Where they were not
interleaved (run one after the other, or in different runs), the launches
cannot be paired and the ratio of medians gets a bootstrap interval
(:func:`dnibench.stats.bootstrap_ratio_interval`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable
from dataclasses import dataclass

import pandas as pd

from dnibench.stats import Interval, Verdict, bootstrap_ratio_interval, paired
from dnibench.stats.intervals import Better

__all__ = ["LaunchRatio", "compare_launches", "interleaved", "launch_order", "launch_values"]


def launch_values(results: pd.DataFrame, bench: str) -> dict[int, float]:
    """Launch index -> throughput (the launch's median window) of ``bench``; NaN dropped."""
    rows = results[
        (results["benchmark"] == bench)
        & (results["metric"] == "throughput")
        & (results["stage"] == -1)
    ]
    return {int(r): float(v) for r, v in zip(rows["repeat"], rows["value"], strict=True) if v == v}


def launch_order(results: pd.DataFrame, bench: str) -> dict[int, int]:
    """Launch index -> position of its first row in results.csv (the order launches ended)."""
    rows = results[results["benchmark"] == bench]
    order: dict[int, int] = {}
    for position, repeat in zip(range(len(rows)), rows["repeat"], strict=True):
        order.setdefault(int(repeat), int(rows.index[position]))
    return order


def interleaved(results: pd.DataFrame, a: str, b: str) -> bool:
    """True when every launch r of ``a`` and ``b`` ended before either's launch r + 1.

    That is the session's round order; two benchmarks run back to back
    (all of A's launches, then all of B's) fail it, and so does a pair with
    no launch index in common.
    """
    oa, ob = launch_order(results, a), launch_order(results, b)
    common = sorted(set(oa) & set(ob))
    if not common:
        return False
    return all(max(oa[r], ob[r]) <= min(oa[n], ob[n]) for r, n in itertools.pairwise(common))


@dataclass(frozen=True)
class LaunchRatio:
    """Throughput of ``treatment`` over ``baseline`` with its interval over launches."""

    treatment: str
    baseline: str
    interval: Interval
    paired: bool
    """True: ratios launch by launch (interleaved); False: bootstrap of the medians' ratio."""

    def decide(self, goal: float = 1.0, better: Better = ">") -> Verdict:
        """Met when the whole interval lies on the ``better`` side of ``goal``."""
        return self.interval.decide(goal, better)

    @property
    def how(self) -> str:
        if self.paired:
            return f"paired by launch, n={self.interval.n}, {self.interval.level:.0%}"
        return f"bootstrap over launches, n={self.interval.n}, {self.interval.level:.0%}"

    def cell(self) -> str:
        """``ratio [low, high]`` for a table cell ('—' when not measured)."""
        i = self.interval
        if i.n == 0 or math.isnan(i.estimate):
            return "—"
        return f"{i.estimate:.3f} [{i.low:.3f}, {i.high:.3f}]"


def compare_launches(results: pd.DataFrame, treatment: str, baseline: str) -> LaunchRatio:
    """treatment / baseline throughput: paired by launch when interleaved, else bootstrapped."""
    a: dict[Hashable, float] = {k: v for k, v in launch_values(results, treatment).items()}
    b: dict[Hashable, float] = {k: v for k, v in launch_values(results, baseline).items()}
    if a and b and interleaved(results, treatment, baseline) and len(set(a) & set(b)) >= 2:
        return LaunchRatio(treatment, baseline, paired(a, b, relation="ratio").interval, True)
    interval = bootstrap_ratio_interval(list(a.values()), list(b.values()))
    return LaunchRatio(treatment, baseline, interval, False)
