"""Whether an asynchronous mode can train a model at all, asked before any process starts.

Some asynchronous modes support only some layers (PipeMare's stale-weight
functions cover the layers listed in :mod:`dnibench.regimes.pipemare`, and
refuse the others when the stage is built). Without this check the refusal
happens inside a rank and the benchmark is recorded as a failure; a suite
that sets every mode against every workload should instead record "not
applicable" with the reason, and carry on. Building the pipeline once in
the parent costs a fraction of a second and happens for asynchronous modes
only.
"""

from __future__ import annotations

from collections.abc import Callable

from dnibench.errors import NotApplicable
from dnibench.runtimes.harness import build_for_rank
from dnibench.runtimes.spec import BenchSpec


def require_buildable(name: str, mode: str, model: str, build: Callable[[], object]) -> None:
    """Raise :class:`NotApplicable` naming ``name`` when ``build`` (the stages of an
    asynchronous ``mode``) refuses ``model``; the ``train`` kind checks its items with it."""
    try:
        build()
    except ValueError as err:
        raise NotApplicable(f"{name}: {mode} on the {model} model: {err}") from err


def require_async_applicable(spec: BenchSpec) -> None:
    """Raise :class:`NotApplicable` when ``spec``'s asynchronous mode refuses its model."""
    if spec.mode_row.asynchronous is None:
        return
    require_buildable(spec.name, spec.mode, spec.model, lambda: build_for_rank(spec))


__all__ = ["require_async_applicable", "require_buildable"]
