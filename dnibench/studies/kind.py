"""What a kind of benchmark is: the one abstraction every kind of item fills in.

A *kind* is how one item runs (pipeline, train, rnn, copy). Everything that
treats benchmarks differently by kind asks the kind instead of comparing its
name: the suite keys it takes and how a checked grid point becomes an
:class:`~dnibench.studies.item.Item`, which runtimes it may use, which of the
item's fields is its configuration (the run's config), how one run is computed
and its rows recorded, whether it may run side by side with others
(``dnibench run --jobs``), the line the progress report prints and the
figures pytest-benchmark keeps. Kinds are declared by studies
(:mod:`dnibench.studies.study`) and found by :mod:`dnibench.studies.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from dnibench.studies.item import PIPELINE, Item
from dnibench.studies.keys import Key

Result = TypeVar("Result")
"""What one run of the kind returns (a pipeline's BenchResult, a TrainResult, ...)."""

Compute = Callable[[Item, int, "float | None"], Result]
"""(item, repeat, deadline in s) -> the run's result, nothing written yet."""
Record = Callable[[Path, Item, Result, int, int], None]
"""(run directory, item, result, repeat, repeats): append the result's rows."""


@dataclass(frozen=True)
class BenchmarkKind(Generic[Result]):
    """One kind of benchmark, whose runs return a ``Result``: ``runtimes`` lists its default first.

    The suite values a kind builds from are the schema-checked TOML values
    (each key's own type, see :class:`Key`).
    """

    name: str
    runtimes: tuple[str, ...]
    keys: tuple[Key, ...]
    """The suite keys it takes besides kind, name, repeats and runtime."""
    build: Callable[[Item, Mapping[str, Any]], Item]
    """The item with its configuration built from one checked grid point."""
    body: Callable[[Item], object]
    """The item's configuration (a dataclass), as the run's config records it."""
    compute: Compute[Result]
    record: Record[Result]
    progress: Callable[[Result], str]
    figures: Callable[[Result], dict[str, float]]
    """Headline figures of a result (the first must be positive), for pytest-benchmark."""
    pipeline: bool = False
    """Runs a stage-split pipeline from a BenchSpec: stragglers and GPU telemetry apply."""
    parallel: bool = False
    """Trains on one thread and times its own CPU: ``run --jobs`` may run it side by side."""
    one_thread: Callable[[Item], bool] = lambda item: True
    """Whether ``item`` runs on one thread: a parallel kind's run goes side by side only then."""

    def side_by_side(self, item: Item) -> bool:
        """Whether ``run --jobs`` may run ``item`` beside others (a parallel kind, one thread)."""
        return self.parallel and self.one_thread(item)

    def run(
        self, item: Item, repeat: int, repeats: int, out: Path, deadline_s: float | None
    ) -> Result:
        """Run ``item`` once and record its rows in ``out``; the result."""
        result = self.compute(item, repeat, deadline_s)
        self.record(out, item, result, repeat, repeats)
        return result


AnyKind = BenchmarkKind[Any]
"""A kind whatever its result type: what the registry, sessions and suites hold."""

__all__ = ["PIPELINE", "AnyKind", "BenchmarkKind", "Compute", "Record", "Result"]
