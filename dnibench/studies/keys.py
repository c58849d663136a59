"""Suite keys as data: what a study declares a kind of benchmark may say in a suite file.

Every allowed key is one :class:`Key` with its type and bounds, so the suite
loader checks every key the same way and an error can always list what is
allowed. The keys live with the studies that read them (each kind declares
its own, see :mod:`dnibench.studies.kind`); the suite schema only collects
them. The model and knob keys shared by the pipeline and training kinds, and
the checks they share, are here too.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dnibench.errors import UserError
from dnibench.models import DEFAULT_DEPTH, MODEL_NAMES
from dnibench.optim import OPTIMIZER_NAMES, OptimConfig
from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig


class KeyProblem(Exception):
    """A bad value for one key; the loader adds file, line and entry to it."""


def suggest(word: str, options: Iterable[str]) -> str:
    """End of a sentence about unknown ``word``: ``; did you mean 'x'?`` or ``.``.

    Most unknown names are typos, so the closest option is worth naming.
    """
    found = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {found[0]!r}?" if found else "."


# Value types a key can have. "ints" is a list of integers; "threads" an integer or "all".
_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "ints": "a list of integers",
    "threads": 'an integer or "all"',
}


@dataclass(frozen=True)
class Key:
    """One allowed key: its type, bounds and (for names) its allowed values.

    ``axis`` says whether a list of values makes it a grid axis; ``above`` is a
    strict lower bound (learning rates), ``minimum`` / ``maximum`` inclusive.
    """

    name: str
    type: str
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    choices: tuple[str, ...] | None = None
    axis: bool = True
    note: str = ""

    @property
    def bounds(self) -> str:
        """The key's numeric bounds in words ("" when unbounded)."""
        if self.minimum is not None and self.maximum is not None:
            return f"from {_num(self.minimum)} to {_num(self.maximum)}"
        if self.above is not None and self.maximum is not None:
            return f"> {_num(self.above)} and <= {_num(self.maximum)}"
        if self.minimum is not None:
            return f">= {_num(self.minimum)}"
        if self.above is not None:
            return f"> {_num(self.above)}"
        return ""

    @property
    def expects(self) -> str:
        """What the key takes, in words, for error messages."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return " ".join(part for part in (_TYPE_WORDS[self.type], self.bounds) if part)

    def is_axis(self, value: object) -> bool:
        """Whether ``value`` is a grid axis (a list of values) rather than one value."""
        if not isinstance(value, list):
            return False
        if self.type == "ints":  # a list of ints is one value; a list of lists is an axis
            return bool(value) and all(isinstance(v, list) for v in value)
        return True

    def check_type(self, value: object) -> None:
        """Raise :class:`KeyProblem` unless ``value`` has this key's type (bounds unchecked)."""
        if not self._type_ok(value):
            axis = " (or a list of them for a grid axis)" if self.axis else ""
            raise KeyProblem(
                f"key {self.name!r} must be {_TYPE_WORDS[self.type]}{axis}, got {_describe(value)}"
            )

    def check(self, value: object) -> object:
        """``value`` converted to its Python form; :class:`KeyProblem` if it does not fit."""
        self.check_type(value)
        if self.type == "threads" and value == "all":
            return os.cpu_count() or 1
        if self.type == "ints":
            assert isinstance(value, list)
            if not value:
                raise KeyProblem(f"key {self.name!r} must not be an empty list")
            for item in value:
                self._check_bounds(item, f"entry {item!r} of key {self.name!r}")
            return tuple(value)
        if self.choices is not None and value not in self.choices:
            assert isinstance(value, str)
            note = f" ({self.note})" if self.note else ""
            raise KeyProblem(
                f"key {self.name!r}: {value!r} is not allowed{suggest(value, self.choices)}"
                f" Allowed: {', '.join(self.choices)}{note}"
            )
        if self.type == "float":
            assert isinstance(value, int | float)
            value = float(value)
            if not math.isfinite(value):  # TOML writes nan and inf; no key means either
                raise KeyProblem(f"key {self.name!r} must be a finite number, got {value!r}")
        self._check_bounds(value, f"key {self.name!r}")
        return value

    def _type_ok(self, value: object) -> bool:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if self.type == "int":
            return is_int
        if self.type == "float":
            return is_int or isinstance(value, float)
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type == "str":
            return isinstance(value, str)
        if self.type == "threads":
            return is_int or value == "all"
        return isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )

    def _check_bounds(self, value: object, what: str) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return
        low_ok = self.minimum is None or value >= self.minimum
        high_ok = self.maximum is None or value <= self.maximum
        above_ok = self.above is None or value > self.above
        if not (low_ok and high_ok and above_ok):
            raise KeyProblem(f"{what} must be {self.bounds}, got {value!r}")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _describe(value: object) -> str:
    kinds = {bool: "boolean", int: "integer", float: "float", str: "string", list: "list"}
    kind = kinds.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    if isinstance(value, str):
        text = '"' + value + '"'
    return f"{kind} {text}"


# The nested SG / SI / optimiser settings, written flat: key -> (config, field).
KNOB_FIELDS: Mapping[str, tuple[str, str]] = {
    "sg_hidden": ("sg", "hidden"),
    "sg_width": ("sg", "width"),
    "sg_lr": ("sg", "lr"),
    "sg_scale": ("sg", "scale"),
    "sg_rank": ("sg", "rank"),
    "si_hidden": ("si", "hidden"),
    "si_width": ("si", "width"),
    "si_lr": ("si", "lr"),
    "optimizer": ("optim", "name"),
    "lr": ("optim", "lr"),
}

KNOB_KEYS = (
    Key("sg_hidden", "int", minimum=0, maximum=2),
    Key("sg_width", "int", minimum=1),
    Key("sg_lr", "float", above=0),
    Key("sg_scale", "float", minimum=0),
    Key("sg_rank", "int", minimum=1),
    Key("si_hidden", "int", minimum=0, maximum=2),
    Key("si_width", "int", minimum=1),
    Key("si_lr", "float", above=0),
    Key("optimizer", "str", choices=OPTIMIZER_NAMES),
    Key("lr", "float", above=0),
)

# A benchmark's timeout at most a day: past timedelta's range a timeout crashes the ranks.
TIMEOUT_MAX_S = 86_400.0
#: ``timeout_s`` of the kinds that train in one process (train, rnn, copy): caught as hung
#: after this many seconds without an optimiser step (dnibench.runtimes.one_process).
ONE_PROCESS_TIMEOUT_KEY = Key(
    "timeout_s",
    "float",
    above=0,
    maximum=TIMEOUT_MAX_S,
    note="seconds without an optimiser step before the benchmark counts as hung",
)

MODEL_KEYS = (
    Key("model", "str", choices=MODEL_NAMES),
    Key("width", "int", minimum=1),
    Key("depth", "int", minimum=0),
    Key("stages", "int", minimum=1),
    Key("balance", "ints", minimum=1),
    Key("batch_size", "int", minimum=1),
    Key("microbatches", "int", minimum=1),
    Key("steps", "int", minimum=1),
    Key("seed", "int"),
)


def knob_configs(values: Mapping[str, Any]) -> dict[str, Any]:
    """The nested optimiser / SG / SI configs from the flat knob keys that were given."""
    given: dict[str, dict[str, Any]] = {"optim": {}, "sg": {}, "si": {}}
    for key, (config, attribute) in KNOB_FIELDS.items():
        if key in values:
            given[config][attribute] = values[key]
    return {
        "optim": OptimConfig(**given["optim"]),
        "sg": SGConfig(**given["sg"]),
        "si": SIConfig(**given["si"]),
    }


def check_split(values: Mapping[str, Any], default_model: str, default_stages: int) -> None:
    """Stages and balance against the model's blocks, so a bad split fails before any run."""
    model = values.get("model", default_model)
    blocks = values.get("depth", DEFAULT_DEPTH[model]) + 1
    stages = values.get("stages", default_stages)
    balance = values.get("balance")
    if balance is None:
        if stages > blocks:
            raise UserError(
                f"model {model} has {blocks} blocks; it cannot be split into {stages} stages"
            )
        return
    if len(balance) != stages:
        raise UserError(f"balance has {len(balance)} entries but stages is {stages}")
    if sum(balance) != blocks:
        raise UserError(
            f"balance sums to {sum(balance)} but model {model} (depth {blocks - 1}) has "
            f"{blocks} blocks"
        )


__all__ = [
    "KNOB_FIELDS", "KNOB_KEYS", "MODEL_KEYS", "ONE_PROCESS_TIMEOUT_KEY", "TIMEOUT_MAX_S", "Key",
    "KeyProblem", "check_split", "knob_configs", "suggest",
]  # fmt: skip
