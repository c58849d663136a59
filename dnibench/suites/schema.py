"""What a suite file may say, and what it becomes once loaded.

The schema is data, not code paths: every allowed key is one :class:`Key`
with its type and bounds, so the loader checks every key the same way and an
error can always list what is allowed. The keys are the ones the studies'
kinds declare (:mod:`dnibench.studies.registry`); this module only adds the
keys every benchmark has and the suite's own tables. Values are checked
before any benchmark object is built, so a mistake is reported against the
line the user wrote rather than as a failure deep inside a run; each kind's
``build`` then turns one checked grid point into its item, and
:class:`Suite` / :class:`SuiteItem` / :class:`Ratio` are the loaded result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dnibench.errors import UserError
from dnibench.studies.item import Item
from dnibench.studies.keys import Key, KeyProblem, suggest
from dnibench.studies.registry import kinds

# Key, KeyProblem and suggest are the studies' (they declare the keys); the loader finds them here.
__all__ = ["Key", "KeyProblem", "SuiteItem", "suggest"]


class SuiteError(UserError):
    """A mistake in a suite file, located by file, line and key where known.

    The attributes let callers (and tests) read the location without parsing
    the message; the message itself is complete on its own.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = display_path(path)
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.column = column
        self.key = key


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when under it (as users typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


BENCHMARK_KINDS = kinds()  # declared by the studies (dnibench.studies.registry)
KINDS = tuple(BENCHMARK_KINDS)
RUNTIME_OF = {name: kind.runtimes[0] for name, kind in BENCHMARK_KINDS.items()}
# Every runtime a kind may name (its default first).
RUNTIMES_OF: Mapping[str, tuple[str, ...]] = {
    name: kind.runtimes for name, kind in BENCHMARK_KINDS.items()
}


def allowed_runtimes(kind: str) -> tuple[str, ...]:
    """The runtimes a benchmark of ``kind`` may set with ``runtime = ...``."""
    return RUNTIMES_OF.get(kind, (RUNTIME_OF[kind],))


COMMON_KEYS = (
    Key("kind", "str", choices=KINDS, axis=False),
    Key("name", "str", axis=False),
    Key("repeats", "int", minimum=1, axis=False),
    Key("runtime", "str", axis=False),
)

KEYS: Mapping[str, Mapping[str, Key]] = {
    kind: {key.name: key for key in (*COMMON_KEYS, *keys)}
    for kind, keys in ((name, kind.keys) for name, kind in BENCHMARK_KINDS.items())
}

# Every key any benchmark kind accepts: what [defaults] may hold.
ALL_KEYS: tuple[str, ...] = tuple(dict.fromkeys(k for keys in KEYS.values() for k in keys))

SUITE_KEYS = (
    Key("description", "str", axis=False),
    Key("repeats", "int", minimum=1, axis=False),
)
RATIO_KEYS = (
    Key("name", "str", axis=False),
    Key("numerator", "str", axis=False),
    Key("denominator", "str", axis=False),
    Key("metric", "str", axis=False),
)
# "profile": named overrides, applied only when asked for (dnibench.suites.rewrites).
TABLES = ("suite", "defaults", "benchmark", "ratio", "profile")
DEFAULT_METRIC = "throughput"


def key_for(name: str) -> Key | None:
    """The :class:`Key` called ``name`` in the first kind that accepts it (for [defaults])."""
    for keys in KEYS.values():
        if name in keys:
            return keys[name]
    return None


SuiteItem = Item
"""One expanded benchmark of a suite: the one item type (:class:`dnibench.studies.item.Item`)."""


@dataclass(frozen=True)
class Ratio:
    """A same-run ratio ``metric(numerator) / metric(denominator)`` that ``check`` gates on."""

    name: str
    numerator: str
    denominator: str
    metric: str = DEFAULT_METRIC


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its benchmarks expanded from their grids, and its ratios."""

    name: str
    path: Path
    description: str
    items: list[SuiteItem]
    ratios: list[Ratio]
    repeats: int = 1

    @property
    def names(self) -> list[str]:
        """The benchmark names, in the order they run."""
        return [item.name for item in self.items]

    def item(self, name: str) -> SuiteItem:
        """The benchmark called ``name`` (KeyError if the suite has none)."""
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)
