"""The training regimes and what each one needs from a stage.

A regime is plain data: which lock it removes and which auxiliary modules
that takes. The schedules of the runtimes read it; the stage code does not
branch on regime names.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnibench.errors import unknown_name


@dataclass(frozen=True)
class Regime:
    """How stages of a pipeline are locked to each other.

    - ``synthetic_gradients``: update and backward unlocked (DNI); every stage
      but the last owns an SG module.
    - ``context``: the SG also reads the one-hot label (cDNI).
    - ``synthetic_inputs``: forward unlocked too (complete unlock); every stage
      but the first owns an SI module.
    """

    name: str
    synthetic_gradients: bool
    context: bool
    synthetic_inputs: bool
    summary: str


REGIMES: dict[str, Regime] = {
    "backprop": Regime("backprop", False, False, False, "standard backpropagation (locked)"),
    "dni": Regime("dni", True, False, False, "synthetic gradients: no update or backward lock"),
    "cdni": Regime("cdni", True, True, False, "DNI with the one-hot label as SG context"),
    "unlock": Regime(
        "unlock", True, False, True, "synthetic inputs and gradients: no forward lock either"
    ),
}

REGIME_NAMES = tuple(REGIMES)


def get_regime(name: str) -> Regime:
    """The regime called ``name``; a :class:`UserError` listing valid names otherwise."""
    if name not in REGIMES:
        raise unknown_name("mode", name, REGIME_NAMES)
    return REGIMES[name]
