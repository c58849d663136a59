"""A run's config as typed entries: benchmarks, their specs, ratios, the format version.

The specs differ by kind (a pipeline BenchSpec, a TrainConfig, a
RecurrentConfig), and runs written years apart stored them in different
shapes; :func:`parse_config` reads every shape dnibench has written into one
:class:`RunConfig`, so no caller handles untyped dicts or guesses a shape.
Pure data: reading the file is :func:`dnibench.rundir.reader.read_config`.
"""

from __future__ import annotations

import difflib
import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from dnibench.errors import UserError
from dnibench.rundir.layout import DERIVED, LEGACY_VERSION

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
"""What json.loads gives back, spelled out (every JSON value, typed)."""


@dataclass(frozen=True)
class Spec:
    """One benchmark's configuration as the run's config stored it, with typed lookups.

    The fields differ by kind (a pipeline BenchSpec, a TrainConfig, a
    RecurrentConfig); the reader keeps them all and hands them out typed.
    """

    fields: Mapping[str, JsonValue] = field(default_factory=dict)

    def get(self, key: str, default: JsonValue = None) -> JsonValue:
        return self.fields.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.fields

    def text(self, key: str, default: str = "") -> str:
        """The field as text (``default`` when absent or null)."""
        value = self.fields.get(key)
        return default if value is None else str(value)

    def integer(self, key: str, default: int = 0) -> int:
        """The field as an int (``default`` when absent or not a whole number)."""
        value = self.fields.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    def number(self, key: str, default: float = math.nan) -> float:
        """The field as a float (``default`` when absent or not a number)."""
        value = self.fields.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            return default

    @property
    def name(self) -> str | None:
        value = self.fields.get("name")
        return value if isinstance(value, str) else None

    @property
    def mode(self) -> str | None:
        value = self.fields.get("mode")
        return None if value is None else str(value)

    def as_dict(self) -> dict[str, JsonValue]:
        """A copy of the fields, for code that builds a configuration from them."""
        return dict(self.fields)


@dataclass(frozen=True)
class BenchmarkEntry:
    """One benchmark of a run, as listed in its config."""

    name: str
    kind: str
    repeats: int = 1
    target_accuracy: float | None = None
    spec: Spec = field(default_factory=Spec)


@dataclass(frozen=True)
class Ratio:
    """A same-run ratio a suite declared (name = numerator / denominator)."""

    name: str
    numerator: str
    denominator: str
    metric: str = "throughput"
    fields: Mapping[str, JsonValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, JsonValue]:
        return dict(self.fields)


@dataclass(frozen=True)
class RunConfig:
    """A run's config file, typed. An absent file reads as an empty config (v0)."""

    format_version: int = LEGACY_VERSION
    benchmarks: tuple[BenchmarkEntry, ...] = ()
    suites: tuple[str, ...] = ()
    ratios: tuple[Ratio, ...] = ()
    command: str | None = None
    derived: str | None = None
    raw: Mapping[str, JsonValue] = field(default_factory=dict)
    present: bool = False
    only: tuple[str, ...] = ()
    """The run's ``--only`` globs (recorded, or read back from its command); () when unfiltered."""

    def entry(self, name: str) -> BenchmarkEntry | None:
        """The benchmark called ``name`` (None when the config does not list it)."""
        return next((e for e in self.benchmarks if e.name == name), None)

    def of_kind(self, *kinds: str) -> list[BenchmarkEntry]:
        """The benchmarks of the given kinds, in run order."""
        return [e for e in self.benchmarks if e.kind in kinds]

    def specs(self, *kinds: str) -> dict[str, Spec]:
        """Benchmark name -> spec (of ``kinds``, or of every benchmark), first listing wins."""
        found: dict[str, Spec] = {}
        for entry in self.benchmarks:
            if not kinds or entry.kind in kinds:
                found.setdefault(entry.name, entry.spec)
        return found


def _mapping(value: JsonValue) -> dict[str, JsonValue] | None:
    return value if isinstance(value, dict) else None


def _entry(item: JsonValue, default_kind: str = "") -> BenchmarkEntry | None:
    """One benchmark of the config: ``{"name", "kind", "spec": {...}}`` or a bare v0 spec.

    ``default_kind`` is the kind of an entry that names none: "pipeline" in the
    bare v0 list (which held only pipeline specs), unknown ("") elsewhere.
    """
    entry = _mapping(item)
    if entry is None:
        return None
    inner = _mapping(entry.get("spec"))
    body = inner if inner is not None else entry
    name = entry.get("name", body.get("name"))
    if not isinstance(name, str):
        return None
    kind = entry.get("kind")
    repeats = entry.get("repeats")
    target = entry.get("target_accuracy")
    return BenchmarkEntry(
        name=name,
        kind=str(kind) if kind is not None else default_kind,
        repeats=repeats if isinstance(repeats, int) and not isinstance(repeats, bool) else 1,
        target_accuracy=float(target) if isinstance(target, int | float) else None,
        spec=Spec(body),
    )


def _ratio(item: JsonValue) -> Ratio | None:
    entry = _mapping(item)
    if entry is None or not {"name", "numerator", "denominator"} <= set(entry):
        return None
    metric = entry.get("metric", "throughput")
    return Ratio(
        str(entry["name"]), str(entry["numerator"]), str(entry["denominator"]), str(metric),
        dict(entry),
    )  # fmt: skip


RATIO_KEYS = ("name", "numerator", "denominator", "metric")
"""The keys of a ratio in a run's config (``metric`` optional, throughput by default)."""


def parse_ratios(value: JsonValue, source: str) -> tuple[Ratio, ...]:
    """The ``ratios`` of a config, strictly: a ratio the gate would misread is a UserError.

    Where :func:`parse_config` skips what it cannot use (reports only show
    ratios), the gate acts on them: an unknown key (``metrc``) or a missing
    one must not silently become a throughput ratio. ``source`` names the
    file in the message.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise UserError(f"{source}: 'ratios' must be a list of ratios, got {value!r}")
    ratios = []
    for index, item in enumerate(value):
        label = f"{source}: ratio {index + 1}"
        if not isinstance(item, dict):
            raise UserError(f"{label} must be an object with keys {', '.join(RATIO_KEYS)}")
        if isinstance(item.get("name"), str):
            label += f" ({item['name']!r})"
        for key in item:
            if key not in RATIO_KEYS:
                close = difflib.get_close_matches(key, RATIO_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UserError(
                    f"{label} has an unknown key {key!r}{hint}; a ratio's keys are "
                    f"{', '.join(RATIO_KEYS)}. Fix the file or re-run"
                )
        for key in RATIO_KEYS:
            if key == "metric" and key not in item:
                continue
            if not isinstance(item.get(key), str) or not item[key]:
                what = "lacks the key" if key not in item else "needs a name as text for"
                keys = ", ".join(RATIO_KEYS)
                raise UserError(f"{label} {what} {key!r}; a ratio's keys are {keys}")
        ratio = _ratio(item)
        if ratio is not None:
            ratios.append(ratio)
    return tuple(ratios)


def _only(raw: Mapping[str, JsonValue], command: str | None) -> tuple[str, ...]:
    """The ``--only`` globs: the recorded ``only``, else parsed from an older run's command."""
    recorded = raw.get("only")
    if isinstance(recorded, list):
        return tuple(str(pattern) for pattern in recorded)
    text = recorded if isinstance(recorded, str) else None
    if text is None and command:
        try:
            words = shlex.split(command)
        except ValueError:
            words = []
        for index, word in enumerate(words):
            if word == "--only" and index + 1 < len(words):
                text = words[index + 1]
            elif word.startswith("--only="):
                text = word.split("=", 1)[1]
    if not text:
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_config(document: JsonValue) -> RunConfig:
    """A config document as a :class:`RunConfig` (every shape dnibench has written)."""
    raw = _mapping(document)
    if raw is None:
        items = document if isinstance(document, list) else []
        entries = (_entry(item, "pipeline") for item in items)
        return RunConfig(benchmarks=tuple(e for e in entries if e is not None), present=True)
    listed = raw.get("benchmarks")
    if listed is None:
        nested = _mapping(raw.get("spec"))
        listed = nested.get("benchmarks") if nested is not None else None
    items = listed if isinstance(listed, list) else []
    version = raw.get("format_version", LEGACY_VERSION)
    suites = raw.get("suites")
    ratios = raw.get("ratios")
    command = raw.get("command")
    derived = raw.get(DERIVED)
    return RunConfig(
        format_version=version if isinstance(version, int) else LEGACY_VERSION,
        benchmarks=tuple(e for e in map(_entry, items) if e is not None),
        suites=tuple(str(s) for s in suites) if isinstance(suites, list) else (),
        ratios=tuple(r for r in map(_ratio, ratios or []) if r is not None)
        if isinstance(ratios, list)
        else (),
        command=command if isinstance(command, str) else None,
        derived=str(derived) if derived is not None else None,
        raw=raw,
        present=True,
        only=_only(raw, command if isinstance(command, str) else None),
    )


__all__ = [
    "RATIO_KEYS", "BenchmarkEntry", "JsonValue", "Ratio", "RunConfig", "Spec", "parse_config",
    "parse_ratios",
]  # fmt: skip
