"""Entry of a locally spawned rank: ``python -m dnibench.runtimes.distributed.rank``.

Its first act, before torch is imported (which takes seconds), is to die with
its parent and to check that the parent is still there
(:func:`dnibench.runtimes.lifeline.die_with_parent`): a parent killed at any
moment after the spawn leaves no rank running. Only then is the rank's body
(:func:`dnibench.runtimes.distributed.launch.rank_entry`) imported and run.
Arguments: the launch's folder, the rank, the world size and the parent's pid.
"""

from __future__ import annotations

import sys

from dnibench.runtimes.lifeline import die_with_parent, leave_signals_to_parent


def main(argv: list[str]) -> None:
    """Arm, then run the rank (which ends the process itself)."""
    workdir, rank, world, parent = argv
    die_with_parent(int(parent))
    leave_signals_to_parent()
    from dnibench.runtimes.distributed.launch import rank_entry

    rank_entry(workdir, int(rank), int(world))


if __name__ == "__main__":
    main(sys.argv[1:])
