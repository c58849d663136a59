"""Load a suite file: parse the TOML, validate every key, expand the grids, build the items.

Everything is checked before anything runs, and every mistake is reported
against the file, line and key the user wrote: a suite is typically edited by
hand, then launched for many minutes, and a typo found only when its
benchmark comes up wastes the whole run.
"""

from __future__ import annotations

import itertools
import os
import re
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dnibench
from dnibench.errors import UserError
from dnibench.rundir.layout import TRACES, trace_name
from dnibench.suites.schema import (
    ALL_KEYS,
    BENCHMARK_KINDS,
    DEFAULT_METRIC,
    KEYS,
    KINDS,
    RATIO_KEYS,
    RUNTIME_OF,
    SUITE_KEYS,
    TABLES,
    Key,
    KeyProblem,
    Ratio,
    Suite,
    SuiteError,
    SuiteItem,
    allowed_runtimes,
    display_path,
    key_for,
    suggest,
)

# Benchmark names become file names (traces, CSV keys), so keep them plain.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]*$")
_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY_RE = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[.=]""")
_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


# The longest file name most file systems allow, in bytes.
NAME_MAX = 255
# What a file named after a benchmark adds around its name at worst: the run directory's
# writers write ".FILE.XXXXXXXX" (or with ".tmp" after it) beside it, then rename it.
_TEMPORARY_EXTRA = len("." + "." + "XXXXXXXX" + ".tmp")


def name_too_long(name: str, repeats: int) -> str | None:
    """Why benchmark ``name`` run ``repeats`` times cannot name its files, or ``None``.

    Its longest file is the temporary beside the trace of its last launch
    (``traces/NAME-rK.json.gz``); that must fit :data:`NAME_MAX` bytes.
    """
    launch = name if repeats <= 1 else f"{name}-r{repeats - 1}"
    longest = len(trace_name(launch).encode()) + _TEMPORARY_EXTRA
    if longest <= NAME_MAX:
        return None
    most = len(name.encode()) - (longest - NAME_MAX)
    return (
        f"name {name[:40]!r}... is {len(name.encode())} bytes long; benchmark names become "
        f"file names (its trace is {TRACES}/{trace_name(launch)[:20]}...), which file systems "
        f"limit to {NAME_MAX} bytes: keep the name to at most {most} bytes"
        + (f" at {repeats} repeats" if repeats > 1 else "")
    )


class _Locator:
    """Finds the line of a key inside a given table of the TOML text.

    tomllib keeps no positions, so the text is scanned: table headers and the
    keys under them, skipping the insides of strings and of multi-line arrays.
    Best effort (an odd layout gives ``None``, never a wrong table).
    """

    def __init__(self, text: str) -> None:
        self._headers: dict[tuple[str, int], int] = {}
        self._keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        table: tuple[str, int] = ("", 0)
        depth, open_string = 0, None
        for number, line in enumerate(text.splitlines(), start=1):
            if depth == 0 and open_string is None:
                header = _HEADER_RE.match(line)
                key = _KEY_RE.match(line)
                if header:
                    name = header.group(2).strip().strip("\"'")
                    index = 0
                    if header.group(1) == "[[":  # an array of tables: entries count from 0
                        index = counts.get(name, 0)
                        counts[name] = index + 1
                    table = (name, index)
                    self._headers.setdefault(table, number)
                    continue
                if key:
                    word = next(group for group in key.groups() if group is not None)
                    self._keys.setdefault((*table, word), number)
            depth, open_string = _advance(line, depth, open_string)

    def line(self, table: str, index: int = 0, key: str | None = None) -> int | None:
        """The line of ``key`` in table ``table`` (entry ``index``), else of its header."""
        if key is not None and (table, index, key) in self._keys:
            return self._keys[(table, index, key)]
        return self._headers.get((table, index))


def _advance(line: str, depth: int, open_string: str | None) -> tuple[int, str | None]:
    """Bracket depth and open multi-line string after ``line`` (strings and comments skipped)."""
    i = 0
    while i < len(line):
        if open_string is not None:
            end = line.find(open_string, i)
            if end < 0:
                return depth, open_string
            i, open_string = end + 3, None
            continue
        char = line[i]
        if char == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            open_string, i = line[i : i + 3], i + 3
            continue
        if char in "\"'":
            i += 1
            while i < len(line) and line[i] != char:
                i += 2 if char == '"' and line[i] == "\\" else 1
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, open_string


def _display(value: object) -> object:
    """A raw TOML value as a name template shows it (numbers keep their format specs)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return value


class _SuiteReader:
    """Validates and expands one suite file; every error carries file and line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SuiteError(f"cannot read suite file: {error}", path=path) from None
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as error:
            message = str(error)
            found = _TOML_POS_RE.search(message)
            line = int(found.group(1)) if found else None
            column = int(found.group(2)) if found else None
            message = _TOML_POS_RE.sub("", message)
            raise SuiteError(
                f"malformed TOML: {message}", path=path, line=line, column=column
            ) from None
        self.where = _Locator(self.text)

    def fail(
        self, message: str, table: str = "", index: int = 0, key: str | None = None
    ) -> SuiteError:
        return SuiteError(message, path=self.path, line=self.where.line(table, index, key), key=key)

    def read(self) -> Suite:
        for name in self.data:
            if name not in TABLES:
                allowed = "[suite], [defaults], [[benchmark]], [[ratio]]"
                raise SuiteError(
                    f"unknown top-level entry {name!r}{suggest(name, TABLES)} Allowed: {allowed}",
                    path=self.path,
                    line=self.where.line("", 0, name) or self.where.line(name),
                    key=name,
                )
        description, repeats = self._suite_table()
        defaults = self._defaults()
        benchmarks = self._array("benchmark")
        if not benchmarks:
            raise self.fail("the suite has no [[benchmark]] entries; add at least one")
        items: list[SuiteItem] = []
        origin: dict[str, tuple[int, SuiteItem]] = {}
        for index, raw in enumerate(benchmarks):
            for item in self._benchmark(index, raw, defaults, repeats):
                if item.name in origin:
                    raise self._duplicate((index, item), origin[item.name])
                origin[item.name] = (index, item)
                items.append(item)
        ratios = self._ratios([item.name for item in items])
        return Suite(
            name=self.path.stem,
            path=self.path,
            description=description,
            items=items,
            ratios=ratios,
            repeats=repeats,
        )

    def _duplicate(self, second: tuple[int, SuiteItem], first: tuple[int, SuiteItem]) -> SuiteError:
        """Two grid points named alike: name both entries, with their axis values."""
        index, item = second

        def entry(number: int, one: SuiteItem) -> str:
            point = ", ".join(f"{k} = {v!r}" for k, v in one.point.items())
            return f"benchmark {number + 1} (line {one.line}{'; ' + point if point else ''})"

        return self.fail(
            f"{entry(*second)} and {entry(*first)} both produce the name {item.name!r}; names must "
            "be unique: put the keys that differ into the name template",
            "benchmark",
            index,
            "name",
        )

    def _array(self, table: str) -> list[dict[str, Any]]:
        value = self.data.get(table, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(
                f"{table!r} must be an array of tables, each written [[{table}]]", table, key=table
            )
        return value

    def _table_keys(
        self, raw: dict[str, Any], keys: tuple[Key, ...], table: str, index: int, label: str
    ) -> dict[str, Any]:
        """Check a small fixed-shape table ([suite], [[ratio]]): known keys, right types."""
        allowed = {key.name: key for key in keys}
        for name, value in raw.items():
            if name not in allowed:
                raise self.fail(
                    f"{label}: unknown key {name!r}{suggest(name, allowed)} "
                    f"Allowed keys: {', '.join(allowed)}",
                    table,
                    index,
                    name,
                )
            try:
                allowed[name].check(value)
            except KeyProblem as problem:
                raise self.fail(f"{label}: {problem}", table, index, name) from None
        return raw

    def _suite_table(self) -> tuple[str, int]:
        raw = self.data.get("suite")
        if not isinstance(raw, dict):
            raise self.fail(
                'missing [suite] table: start the file with [suite] and description = "..."'
                if raw is None
                else "'suite' must be a table written [suite]",
                key="suite",
            )
        self._table_keys(raw, SUITE_KEYS, "suite", 0, "[suite]")
        if "description" not in raw:
            raise self.fail(
                "[suite]: missing key 'description' (a string saying what the suite measures)",
                "suite",
            )
        return raw["description"], raw.get("repeats", 1)

    def _defaults(self) -> dict[str, Any]:
        raw = self.data.get("defaults", {})
        if not isinstance(raw, dict):
            raise self.fail("'defaults' must be a table written [defaults]", key="defaults")
        for name, value in raw.items():
            key = key_for(name)
            if key is None:
                raise self.fail(
                    f"[defaults]: unknown key {name!r}{suggest(name, ALL_KEYS)} "
                    f"Allowed keys: {', '.join(ALL_KEYS)}",
                    "defaults",
                    0,
                    name,
                )
            try:
                for item in value if key.is_axis(value) and key.axis else [value]:
                    key.check_type(item)
            except KeyProblem as problem:
                raise self.fail(f"[defaults]: {problem}", "defaults", 0, name) from None
        return raw

    def _benchmark(
        self, index: int, raw: dict[str, Any], defaults: dict[str, Any], repeats: int
    ) -> list[SuiteItem]:
        return _Benchmark(self, index, raw, defaults).expand(repeats)

    def _ratios(self, names: list[str]) -> list[Ratio]:
        ratios: list[Ratio] = []
        seen: set[str] = set()
        for index, raw in enumerate(self._array("ratio")):
            label = f"ratio {index + 1}" + (
                f' ("{raw["name"]}")' if isinstance(raw.get("name"), str) else ""
            )
            self._table_keys(raw, RATIO_KEYS, "ratio", index, label)
            for required in ("name", "numerator", "denominator"):
                if required not in raw:
                    raise self.fail(f"{label}: missing key {required!r}", "ratio", index)
            if raw["name"] in seen:
                raise self.fail(
                    f"{label}: another ratio is already called {raw['name']!r}",
                    "ratio",
                    index,
                    "name",
                )
            seen.add(raw["name"])
            for side in ("numerator", "denominator"):
                if raw[side] not in names:
                    raise self.fail(
                        f"{label}: {side} {raw[side]!r} is not a benchmark of this suite"
                        f"{suggest(raw[side], names)} Benchmarks: {', '.join(names)}",
                        "ratio",
                        index,
                        side,
                    )
            ratios.append(
                Ratio(
                    name=raw["name"],
                    numerator=raw["numerator"],
                    denominator=raw["denominator"],
                    metric=raw.get("metric", DEFAULT_METRIC),
                )
            )
        return ratios


class _Benchmark:
    """One [[benchmark]] entry: its keys checked against its kind, then its grid expanded.

    Values set in [defaults] are merged under the entry's own, and an error
    about one of them points at its line in [defaults].
    """

    def __init__(
        self, reader: _SuiteReader, index: int, raw: dict[str, Any], defaults: dict[str, Any]
    ) -> None:
        self.reader, self.index, self.raw, self.defaults = reader, index, raw, defaults
        template = raw.get("name", defaults.get("name"))
        self.label = f"benchmark {index + 1}" + (
            f' ("{template}")' if isinstance(template, str) else ""
        )

    def line_of(self, key: str | None) -> int | None:
        if key is not None and key not in self.raw and key in self.defaults:
            return self.reader.where.line("defaults", 0, key)
        return self.reader.where.line("benchmark", self.index, key)

    def fail(self, message: str, key: str | None = None) -> SuiteError:
        return SuiteError(
            f"{self.label}: {message}", path=self.reader.path, line=self.line_of(key), key=key
        )

    def kind(self) -> str:
        kind = self.raw.get("kind", self.defaults.get("kind"))
        if kind is None:
            raise self.fail(f"missing key 'kind'; allowed: {', '.join(KINDS)}")
        try:
            KEYS[KINDS[0]]["kind"].check(kind)
        except KeyProblem as problem:
            raise self.fail(str(problem), "kind") from None
        return kind

    def checked(
        self, keys: Mapping[str, Key]
    ) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]], dict[str, list[tuple[Any, Any]]]]:
        """Merged values, then (raw, converted) per fixed key and per value of each grid axis."""
        for name in self.raw:
            if name not in keys:
                other = [k for k in KINDS if name in KEYS[k]]
                kind = self.raw.get("kind", self.defaults.get("kind"))
                why = (
                    f"key {name!r} belongs to {other[0]} benchmarks, and this one is {kind}."
                    if other
                    else f"unknown key {name!r}{suggest(name, keys)}"
                )
                raise self.fail(f"{why} Allowed keys: {', '.join(keys)}", name)
        merged = {k: v for k, v in self.defaults.items() if k in keys} | self.raw
        fixed: dict[str, tuple[Any, Any]] = {}
        axes: dict[str, list[tuple[Any, Any]]] = {}
        for name, value in merged.items():
            key = keys[name]
            try:
                if key.axis and key.is_axis(value):
                    if not value:
                        raise KeyProblem(
                            f"key {name!r} is an empty list: a grid axis needs at least one value"
                        )
                    axes[name] = [(v, key.check(v)) for v in value]
                else:
                    fixed[name] = (value, key.check(value))
            except KeyProblem as problem:
                raise self.fail(str(problem), name) from None
        if "name" not in merged:
            raise self.fail(
                "missing key 'name' (a name, or a template such as \"{mode}-m{microbatches}\")"
            )
        return merged, fixed, axes

    def template_fields(self, template: str, merged: Mapping[str, object]) -> list[str]:
        """The keys a name template uses; each must be a key this benchmark has."""
        fields: list[str] = []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            raise self.fail(f"name template {template!r} is malformed: {error}", "name") from None
        for _, field, _, _ in parsed:
            if field is None:
                continue
            if not field.isidentifier():
                raise self.fail(
                    f"name template {template!r}: {{{field}}} must be a plain key name such as "
                    "{mode}",
                    "name",
                )
            if field not in merged:
                options = [k for k in merged if k != "name"]
                raise self.fail(
                    f"name template {template!r} names {{{field}}}, which this benchmark does "
                    f"not set{suggest(field, options)} Its keys: {', '.join(options)}",
                    "name",
                )
            fields.append(field)
        return fields

    def expand(self, repeats: int) -> list[SuiteItem]:
        """One built item per grid point; the first axis listed varies slowest."""
        kind = self.kind()
        merged, fixed, axes = self.checked(KEYS[kind])
        runtime = merged.get("runtime", RUNTIME_OF[kind])
        if runtime not in allowed_runtimes(kind):
            raise self.fail(
                f"key 'runtime': {runtime!r} is not available for {kind} benchmarks; "
                f"allowed: {', '.join(repr(r) for r in allowed_runtimes(kind))}",
                "runtime",
            )
        template = merged["name"]
        fields = self.template_fields(template, merged)
        items: list[SuiteItem] = []
        for combo in itertools.product(*axes.values()):
            point = dict(zip(axes, combo, strict=True))
            chosen = fixed | point
            try:
                name = template.format(**{f: _display(chosen[f][0]) for f in fields})
            except (ValueError, TypeError) as error:
                raise self.fail(
                    f"name template {template!r} cannot be filled: {error}", "name"
                ) from None
            if not _NAME_RE.match(name):
                raise self.fail(
                    f"name {name!r} is not a plain name: benchmark names become file names, so "
                    "use letters, digits and . _ + = - only",
                    "name",
                )
            values = {k: v[1] for k, v in chosen.items()}
            too_long = name_too_long(name, values.get("repeats", repeats))
            if too_long:
                raise self.fail(too_long, "name")
            bare = SuiteItem(
                name=name,
                kind=kind,
                repeats=values.get("repeats", repeats),
                runtime=runtime,
                point={k: v[1] for k, v in point.items()},
                line=self.reader.where.line("benchmark", self.index),
            )
            try:
                items.append(BENCHMARK_KINDS[kind].build(bare, values))
            except (UserError, ValueError) as error:
                message = str(error).removeprefix(f"{name}: ")
                raise self.fail(f"{name}: {message}") from None
        return items


# Where a wheel carries the repository's suites/*.toml (copied there by
# setup.py at build time, so the repository holds one copy only).
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"


def checkout_suites_dir() -> Path | None:
    """The repository's ``suites/`` when dnibench runs from a checkout, else ``None``.

    A checkout is recognised by ``pyproject.toml`` beside the package: an
    installed wheel sits in site-packages, where neither file is.
    """
    root = Path(dnibench.__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "suites").is_dir():
        return root / "suites"
    return None


def package_suites_dir() -> Path:
    """The suites that come with dnibench: the checkout's ``suites/``, else the wheel's copy."""
    return checkout_suites_dir() or SHIPPED_DIR


def suite_dirs() -> list[Path]:
    """Where suite names are looked up, in order: ``./suites``, then the package's."""
    dirs: list[Path] = []
    for folder in (Path.cwd() / "suites", package_suites_dir()):
        if all(folder.resolve() != seen.resolve() for seen in dirs):
            dirs.append(folder)
    return dirs


def suite_origin(path: Path) -> str:
    """Where a suite file came from, as ``dnibench list`` shows it.

    ``./suites`` (the working directory's folder, which wins a name clash),
    ``checkout`` (the repository dnibench runs from), ``package`` (the copy
    an installed wheel carries), or the file's own path when given directly.
    """
    folder = path.resolve().parent
    if folder == (Path.cwd() / "suites").resolve():
        return "./suites"
    checkout = checkout_suites_dir()
    if checkout is not None and folder == checkout.resolve():
        return "checkout"
    if folder == SHIPPED_DIR:
        return "package"
    return display_path(path)


def suite_paths() -> dict[str, Path]:
    """Every suite reachable by name: name -> file, the first folder winning a clash."""
    found: dict[str, Path] = {}
    for folder in suite_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find_suite(name: str | Path) -> Path:
    """The file of suite ``name``: a path as given, or a bare name looked up in suite_dirs()."""
    text = str(name)
    if isinstance(name, Path) or text.endswith(".toml") or "/" in text or os.sep in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise SuiteError(f"no suite file {text!r} (looked for {display_path(path)})")
        return path
    found = suite_paths()
    if text in found:
        return found[text]
    folders = ", ".join(display_path(folder) for folder in suite_dirs())
    raise SuiteError(
        f"unknown suite {text!r}{suggest(text, found)} "
        f"Available suites: {', '.join(found) or 'none'} (from {folders})"
    )


def load_suite(path_or_name: str | Path) -> Suite:
    """Load, validate and expand a suite given by name or path; SuiteError on any mistake."""
    return _SuiteReader(find_suite(path_or_name)).read()


def list_suites() -> list[Suite]:
    """Every suite reachable by name, loaded (so a broken one is reported)."""
    return [load_suite(path) for path in suite_paths().values()]


def survey_suites() -> tuple[list[Suite], list[SuiteError]]:
    """Every suite reachable by name that loads, and the error of each one that does not.

    One broken file (a half-edited ``./suites/mine.toml``) must not hide the others.
    """
    suites: list[Suite] = []
    errors: list[SuiteError] = []
    for path in suite_paths().values():
        try:
            suites.append(load_suite(path))
        except SuiteError as error:
            errors.append(error)
    return suites, errors
