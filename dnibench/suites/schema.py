"""What a suite file may say, and what it becomes once loaded.

The schema is data, not code paths: every allowed key is one :class:`Key`
with its type and bounds, so the loader checks every key the same way and an
error can always list what is allowed. Values are checked before any
benchmark object is built, so a mistake is reported against the line the
user wrote rather than as a failure deep inside a run. :func:`build_item`
then turns one checked grid point into the ``BenchSpec`` or ``TrainConfig``
that the runtimes take, and :class:`Suite` / :class:`SuiteItem` /
:class:`Ratio` are the loaded result.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnibench.studies.kind import KINDS as BENCHMARK_KINDS
from dnibench.data import DATA_NAMES
from dnibench.errors import UserError
from dnibench.models import DEFAULT_DEPTH, MODEL_NAMES
from dnibench.optim import OPTIMIZER_NAMES, OptimConfig
from dnibench.pipeline import PipelineConfig
from dnibench.studies.recurrent.config import (
    COPY_TASKS,
    CORPUS_NAMES,
    RECURRENT_KINDS,
    RECURRENT_MODES,
    RecurrentConfig,
    build_recurrent,
)
from dnibench.regimes.regime import REGIME_NAMES
from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig
from dnibench.runtimes.spec import BENCH_MODES, SINGLE_MODE, STREAMS_DEVICES, BenchSpec
from dnibench.train import TrainConfig


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


class KeyProblem(Exception):
    """A bad value for one key; the loader adds file, line and entry to it."""


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when under it (as users typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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


KINDS = tuple(BENCHMARK_KINDS)  # the registry in dnibench.studies.kind
RUNTIME_OF = {name: kind.runtimes[0] for name, kind in BENCHMARK_KINDS.items()}
# Every runtime a kind may name (its default first).
RUNTIMES_OF: Mapping[str, tuple[str, ...]] = {
    name: kind.runtimes for name, kind in BENCHMARK_KINDS.items()
}


def allowed_runtimes(kind: str) -> tuple[str, ...]:
    """The runtimes a benchmark of ``kind`` may set with ``runtime = ...``."""
    return RUNTIMES_OF.get(kind, (RUNTIME_OF[kind],))


# Pipeline ranks load their data without a directory, so only embedded or generated data.
PIPELINE_DATA = tuple(d for d in DATA_NAMES if d not in ("mnist", "cifar10"))
ON_DISK_DATA = ("mnist", "cifar10")

COMMON_KEYS = (
    Key("kind", "str", choices=KINDS, axis=False),
    Key("name", "str", axis=False),
    Key("repeats", "int", minimum=1, axis=False),
    Key("runtime", "str", axis=False),
)

# The nested SG / SI / optimiser settings, written flat: key -> (config, field).
KNOB_FIELDS: Mapping[str, tuple[str, str]] = {
    "sg_hidden": ("sg", "hidden"),
    "sg_width": ("sg", "width"),
    "sg_lr": ("sg", "lr"),
    "sg_scale": ("sg", "scale"),
    "si_hidden": ("si", "hidden"),
    "si_width": ("si", "width"),
    "si_lr": ("si", "lr"),
    "optimizer": ("optim", "name"),
    "lr": ("optim", "lr"),
}

_KNOB_KEYS = (
    Key("sg_hidden", "int", minimum=0, maximum=2),
    Key("sg_width", "int", minimum=1),
    Key("sg_lr", "float", above=0),
    Key("sg_scale", "float"),
    Key("si_hidden", "int", minimum=0, maximum=2),
    Key("si_width", "int", minimum=1),
    Key("si_lr", "float", above=0),
    Key("optimizer", "str", choices=OPTIMIZER_NAMES),
    Key("lr", "float", above=0),
)

_MODEL_KEYS = (
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

PIPELINE_KEYS = (
    Key("mode", "str", choices=BENCH_MODES),
    Key(
        "data",
        "str",
        choices=PIPELINE_DATA,
        note="mnist and cifar10 are read from a directory, which pipeline benchmarks do not take",
    ),
    *_MODEL_KEYS,
    Key("input_shape", "ints", minimum=1),
    Key("warmup", "int", minimum=0),
    Key("threads", "threads", minimum=1),
    Key("staleness", "int", minimum=0),
    Key("spans", "bool"),
    Key("slow_stage", "int", minimum=0),
    Key("slow_factor", "float", above=0),
    Key("timeout_s", "float", above=0),
    Key("backend", "str", choices=("gloo", "nccl")),
    Key("update_per_microbatch", "bool"),
    Key("device", "str", choices=STREAMS_DEVICES, note="the streams runtime's device"),
    Key("nvml", "bool"),
    *_KNOB_KEYS,
)

TRAIN_KEYS = (
    Key("mode", "str", choices=REGIME_NAMES),
    Key("data", "str", choices=DATA_NAMES),
    *_MODEL_KEYS,
    Key("eval_every", "int", minimum=1),
    Key("data_dir", "str"),
    Key("target_accuracy", "float", above=0, maximum=1),
    Key("frozen_stages", "int", minimum=0, note="the first n stages keep their initial weights"),
    Key("threads", "threads", minimum=1, note="1 (the default) times the training thread's CPU"),
    *_KNOB_KEYS,
)

# Recurrent benchmarks (dnibench.studies.recurrent): "rnn" is character language modelling,
# "copy" the copy / repeat-copy curriculum; both train in chunks of `truncation` steps.
_RECURRENT_KEYS = (
    Key("mode", "str", choices=RECURRENT_MODES),
    Key("truncation", "int", minimum=1, maximum=10_000),
    Key("aux", "bool"),
    Key("width", "int", minimum=1),
    Key("batch_size", "int", minimum=1),
    Key("lr", "float", above=0),
    Key("clip", "float", minimum=0),
    Key("chars", "int", minimum=1),
    Key("eval_every", "int", minimum=1),
    Key("seed", "int"),
    Key("threads", "threads", minimum=1),
    Key("sg_hidden", "int", minimum=0, maximum=2),
    Key("sg_width", "int", minimum=1),
    Key("sg_lr", "float", above=0),
    Key("sg_scale", "float", minimum=0),
    Key("aux_weight", "float", minimum=0),
)
RNN_KEYS = (
    *_RECURRENT_KEYS,
    Key(
        "data",
        "str",
        choices=CORPUS_NAMES,
        note="pystdlib needs no file, ptb reads data_dir or $DNIBENCH_PTB_DIR, text reads "
        "text_path (or dnibench run --data-dir / --text-path)",
    ),
    Key("data_dir", "str"),
    Key("text_path", "str"),
    Key("split", "float", above=0, maximum=0.99),
    Key("min_count", "int", minimum=1),
    Key("eval_chars", "int", minimum=100),
    Key("target_bpc", "float", above=0),
)
COPY_KEYS = (
    *_RECURRENT_KEYS,
    Key("task", "str", choices=COPY_TASKS),
    Key("symbols", "int", minimum=2, maximum=64),
    Key("max_repeats", "int", minimum=1, maximum=10),
    Key("solve_bits", "float", above=0),
    Key("solve_window", "int", minimum=1),
)

KEYS: Mapping[str, Mapping[str, Key]] = {
    kind: {key.name: key for key in (*COMMON_KEYS, *keys)}
    for kind, keys in (
        ("pipeline", PIPELINE_KEYS),
        ("train", TRAIN_KEYS),
        ("rnn", RNN_KEYS),
        ("copy", COPY_KEYS),
    )
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
# "profile": named overrides, applied only when asked for (dnibench.suites.profiles).
TABLES = ("suite", "defaults", "benchmark", "ratio", "profile")
DEFAULT_METRIC = "throughput"


def key_for(name: str) -> Key | None:
    """The :class:`Key` called ``name`` in the first kind that accepts it (for [defaults])."""
    for keys in KEYS.values():
        if name in keys:
            return keys[name]
    return None


@dataclass(frozen=True)
class SuiteItem:
    """One expanded benchmark of a suite, built and validated, ready to run.

    A ``pipeline`` item carries ``spec`` (run on the dist runtime); a ``train``
    item carries ``train`` and ``target_accuracy`` (run on the reference
    runtime); an ``rnn`` or ``copy`` item carries ``recurrent`` (reference
    runtime too). ``point`` holds the grid-axis values that produced this item, so
    reports can group results by axis; ``line`` is its ``[[benchmark]]`` line.
    """

    name: str
    kind: str
    repeats: int
    runtime: str
    spec: BenchSpec | None = None
    train: TrainConfig | None = None
    target_accuracy: float | None = None
    recurrent: RecurrentConfig | None = None
    point: Mapping[str, object] = field(default_factory=dict)
    line: int | None = None


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


def _configs(values: Mapping[str, Any]) -> dict[str, Any]:
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


def _check_split(values: Mapping[str, Any], default_model: str, default_stages: int) -> None:
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


def build_item(
    kind: str, name: str, values: Mapping[str, Any]
) -> BenchSpec | TrainConfig | RecurrentConfig:
    """The BenchSpec or TrainConfig of one grid point, from its checked values.

    The objects' own validation runs too; cross-key checks (split against
    model depth, batch against microbatches) run here so a suite fails at load.
    """
    if kind in RECURRENT_KINDS:
        return build_recurrent(kind, values)
    configs = _configs(values)
    if BENCHMARK_KINDS[kind].pipeline:
        skip = {*KNOB_FIELDS, "kind", "name", "repeats", "runtime"}
        fields = {k: v for k, v in values.items() if k not in skip}
        runtime = values.get("runtime", RUNTIME_OF[kind])
        spec = BenchSpec(name=name, runtime=runtime, **fields, **configs)
        if spec.mode != SINGLE_MODE:
            _check_split(values, spec.model, spec.stages)
        return spec
    base = TrainConfig()
    pipeline = PipelineConfig(
        model=values.get("model", base.pipeline.model),
        width=values.get("width"),
        depth=values.get("depth"),
        stages=values.get("stages", base.pipeline.stages),
        balance=values.get("balance"),
        seed=values.get("seed", base.pipeline.seed),
        **configs,
    )
    _check_split(values, pipeline.model, pipeline.stages)
    config = TrainConfig(
        data=values.get("data", base.data),
        mode=values.get("mode", base.mode),
        pipeline=pipeline,
        batch_size=values.get("batch_size", base.batch_size),
        microbatches=values.get("microbatches", base.microbatches),
        steps=values.get("steps", base.steps),
        eval_every=values.get("eval_every", base.eval_every),
        data_dir=Path(values["data_dir"]).expanduser() if "data_dir" in values else None,
        frozen_stages=values.get("frozen_stages", base.frozen_stages),
        threads=values.get("threads", base.threads),
    )
    if config.batch_size % config.microbatches:
        raise UserError(
            f"batch size {config.batch_size} must split evenly into {config.microbatches} "
            "microbatches"
        )
    if config.data in ON_DISK_DATA and config.data_dir is None:
        raise UserError(f"data {config.data!r} is read from disk: set data_dir")
    return config
