"""An asynchronous mode as a train item: what it refuses, found when the suite loads.

The train kind trains an asynchronous mode (``pipedream``, ``pipedream-2bw``,
``pipemare``, ``pipemare-plain``, ``dgl``: the rows of :mod:`dnibench.modes`
with ``asynchronous`` set) by replaying the mode's whole-run schedule in its
one process and one thread (:class:`~dnibench.runtimes.replay.ScheduleReplay`,
chosen by :func:`dnibench.train.prepare`): each stage runs its own action
list as a ``dist`` rank gets it, with evaluations between steps. Its final
parameters are :func:`~dnibench.runtimes.spec_replay.replay_spec`'s for the
same configuration, bit for bit (``tests/studies/train/test_asynchronous.py``),
so the ff curves and the kmap / ttq replays train one trajectory. Its CPU
seconds are the training thread's over every stage's work (all stages'
forwards, backwards and updates, the version bookkeeping, DGL's heads): the
mode's sequential compute per sample, read like backprop's on the reference
runtime, not a pipeline's wall time.

Some combinations cannot train at all: PipeDream-2BW needs m >= K
(:meth:`~dnibench.modes.Mode.problem`), PipeMare refuses layers its
stale-weight functions do not cover (refused when its stages are built:
:func:`~dnibench.runtimes.async_applicable.require_buildable`), and
``frozen_stages`` applies to regimes. Checked here when the item is built,
the suite loader names the entry and nothing runs, instead of one item
failing after the others trained.
"""

from __future__ import annotations

from dnibench.errors import UserError
from dnibench.modes import find_mode
from dnibench.train import TrainConfig


def is_asynchronous(mode: str) -> bool:
    """Whether ``mode`` is an asynchronous mode (trained by replaying its schedule)."""
    row = find_mode(mode)
    return row is not None and row.asynchronous is not None


def check_asynchronous(name: str, config: TrainConfig) -> None:
    """Raise a :class:`UserError` naming ``name`` when ``config``'s asynchronous mode cannot
    train it (nothing to check for a regime). Builds the stages once (data loaded, cached)."""
    row = find_mode(config.mode)
    if row is None or row.asynchronous is None:
        return
    problem = row.problem(config.pipeline.stages, config.microbatches)
    if problem is not None:
        raise UserError(f"{name}: {problem}")
    if config.frozen_stages:
        raise UserError(
            f"{name}: frozen_stages applies to regimes, not to the asynchronous mode {row.name} "
            "(its baseline is the regimes' last-stage-only entry)"
        )
    from dnibench.runtimes.async_applicable import require_buildable
    from dnibench.train import prepare

    require_buildable(name, row.name, config.pipeline.model, lambda: prepare(config))


__all__ = ["check_asynchronous", "is_asynchronous"]
