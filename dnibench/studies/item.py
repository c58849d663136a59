"""One benchmark to run: the single item type of suites, sessions and kinds.

A suite expands its ``[[benchmark]]`` grids into items, ``dnibench bench``
makes them from specs, and a session runs them; every one of them is an
:class:`Item`. Which field holds the configuration is the kind's business
(:class:`~dnibench.studies.kind.BenchmarkKind` reads it with ``body``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dnibench.runtimes.spec import BenchSpec
from dnibench.train import TrainConfig

if TYPE_CHECKING:
    from dnibench.studies.recurrent.config import RecurrentConfig

PIPELINE = "pipeline"


@dataclass(frozen=True)
class Item:
    """One expanded benchmark, built and validated, ready to run.

    A ``pipeline`` item carries ``spec``; a ``train`` item carries ``train``
    and ``target_accuracy``; an ``rnn`` or ``copy`` item carries
    ``recurrent``; a kind another study adds carries ``config``. ``point``
    holds the grid-axis values that produced the item, so reports can group
    results by axis; ``line`` is its ``[[benchmark]]`` line in the suite file.
    """

    name: str
    kind: str
    repeats: int = 1
    runtime: str = ""
    spec: BenchSpec | None = None
    train: TrainConfig | None = None
    target_accuracy: float | None = None
    recurrent: RecurrentConfig | None = None
    config: object | None = None
    point: Mapping[str, object] = field(default_factory=dict)
    line: int | None = None

    @classmethod
    def of(cls, spec: BenchSpec) -> Item:
        """A pipeline item running ``spec`` under its own name."""
        return cls(name=spec.name, kind=PIPELINE, runtime=spec.runtime, spec=spec)


__all__ = ["PIPELINE", "Item"]
