"""Every rewrite of a suite's items before a run: profile, fault, slowed stage, data paths.

A suite file says what to run; a command may change it in four ways, and
each is applied here, in one place, so the rules (what an option reaches,
which error it gives) are written once:

- :func:`load_suite_profile`: a named ``[profile.NAME]`` of overrides, applied
  to the parsed file before validation (``--profile``);
- :func:`with_fault`: one benchmark set to fail at a step (``--fault``);
- :func:`with_slow_stage`: one stage of every pipeline made a straggler
  (``--slow-stage``, ``--slow-factor``);
- :func:`with_data`: every rnn benchmark pointed at a corpus (``--data-dir``,
  ``--text-path``), each corpus checked before the first benchmark runs;
  ``--text-path`` also gives language-model pipelines (gpt) their text.

A GPU suite is written for the GPU, but its run has to be rehearsed where
there is none: the same benchmarks, names, ratios and report, on the CPU
stand-in at a size two cores finish in a minute. A profile says so in the
suite file itself, next to what it changes, instead of in a second copy of
the suite that drifts::

    [profile.cpu]
    description = "the CPU stand-in at a tiny size"
    [profile.cpu.defaults]                     # merged over [defaults]
    device = "cpu"
    width = 32
    [profile.cpu.benchmark."streams-{mode}-m{microbatches}-small"]
    width = 16                                 # merged over that [[benchmark]] entry

Entries are matched by their ``name`` as written (the template). The profile
is applied to the parsed file before validation, so every overridden value is
checked exactly like one written in place, and an error says which profile
was applied. Without ``--profile`` the tables are ignored.

:func:`with_fault` makes one benchmark raise at a given step (the streams and
dist runtimes' ``fault``), so a rehearsal can prove that a failing benchmark
still leaves a packed, partial run and a non-zero exit.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

from dnibench.data import TOKEN_DATA
from dnibench.data.lm_windows import TEXT_SPLIT
from dnibench.errors import UserError
from dnibench.modes import Family
from dnibench.runtimes.spec import parse_fault
from dnibench.studies.recurrent.config import RecurrentConfig
from dnibench.studies.recurrent.data_options import check_data, text_file_problem
from dnibench.suites.loader import _SuiteReader, find_suite
from dnibench.suites.schema import KeyProblem, Suite, SuiteError, SuiteItem, key_for, suggest

__all__ = [
    "load_suite_profile", "profile_names", "with_data", "with_fault", "with_slow_stage",
]  # fmt: skip

PROFILE_KEYS = ("description", "defaults", "benchmark")


def _profiles(reader: _SuiteReader) -> dict[str, dict[str, object]]:
    raw = reader.data.get("profile", {})
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise reader.fail(
            "'profile' must hold named tables, each written [profile.NAME]", key="profile"
        )
    return raw


def profile_names(path_or_name: str | Path) -> list[str]:
    """The profiles suite ``path_or_name`` defines, in file order."""
    return list(_profiles(_SuiteReader(find_suite(path_or_name))))


def _apply(reader: _SuiteReader, name: str) -> None:
    """Merge profile ``name`` into the reader's parsed data (in place); SuiteError if bad."""
    profiles = _profiles(reader)
    if name not in profiles:
        names = ", ".join(profiles) or "none"
        raise reader.fail(
            f"suite {reader.path.stem!r} has no profile {name!r}{suggest(name, profiles)} "
            f"Its profiles: {names} (tables written [profile.NAME])"
        )
    profile = profiles[name]
    where = f"[profile.{name}]"
    for key in profile:
        if key not in PROFILE_KEYS:
            raise reader.fail(
                f"{where}: unknown key {key!r}{suggest(key, PROFILE_KEYS)} "
                f"Allowed keys: {', '.join(PROFILE_KEYS)}",
                "profile." + name,
                key=key,
            )
    if not isinstance(profile.get("description"), str):
        raise reader.fail(
            f"{where}: missing key 'description' (a string saying what the profile is for)",
            "profile." + name,
        )
    data = reader.data
    defaults = profile.get("defaults", {})
    if not isinstance(defaults, dict):
        raise reader.fail(f"{where}: 'defaults' must be a table written [profile.{name}.defaults]")
    data["defaults"] = {**data.get("defaults", {}), **defaults}
    overrides = profile.get("benchmark", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise reader.fail(
            f"{where}: 'benchmark' must hold tables named by a [[benchmark]] entry's name, "
            f'written [profile.{name}.benchmark."NAME"]'
        )
    entries = data.get("benchmark", [])
    templates = [entry.get("name") for entry in entries if isinstance(entry, dict)]
    for template, values in overrides.items():
        if template not in templates:
            known = [t for t in templates if isinstance(t, str)]
            raise reader.fail(
                f"{where}: no [[benchmark]] entry is named {template!r}{suggest(template, known)} "
                f"Entry names: {', '.join(known)}",
                "profile." + name,
            )
        for entry in entries:
            if entry.get("name") == template:
                entry.update(values)


def load_suite_profile(path_or_name: str | Path, profile: str | None = None) -> Suite:
    """Suite ``path_or_name`` with profile ``profile`` applied (none: the suite as written)."""
    reader = _SuiteReader(find_suite(path_or_name))
    if profile is not None:
        reader.data = copy.deepcopy(reader.data)
        _apply(reader, profile)
    try:
        return reader.read()
    except SuiteError as error:
        if profile is None:
            raise
        raise SuiteError(
            f"{error} (with profile {profile!r} applied; the value may come from "
            f"[profile.{profile}])",
            path=None,
        ) from None


def with_fault(items: list[SuiteItem], text: str) -> list[SuiteItem]:
    """``items`` with benchmark ``NAME`` of ``NAME=KIND:STAGE:STEP`` set to fail that way.

    The stage must be one the benchmark has and the step one it runs (steps count from 1,
    warm-up included, as the stage driver ends them): a fault that could never fire would
    let a failure rehearsal pass with no fault at all.
    """
    name, sep, fault = text.partition("=")
    if not sep or not name:
        raise UserError(
            f"--fault {text!r} must be NAME=KIND:STAGE:STEP, e.g. streams-dni-m8=raise:1:2"
        )
    _, stage, step = parse_fault(fault)
    names = [item.name for item in items]
    if name not in names:
        raise UserError(
            f"--fault names benchmark {name!r}, which this run does not hold"
            f"{suggest(name, names)} Benchmarks: {', '.join(names)}"
        )
    out = []
    for item in items:
        if item.name == name:
            spec = item.spec
            if spec is None:
                raise UserError(
                    f"--fault: {name!r} is a {item.kind} benchmark; faults need a pipeline"
                )
            if spec.mode_row.family is Family.PEER:
                raise UserError(
                    f"--fault: {name!r} runs PyTorch's own schedule ({spec.mode}), which takes "
                    "no injected fault; name a benchmark of dnibench's schedules"
                )
            if stage >= spec.world_size:
                raise UserError(
                    f"--fault {text!r}: {name!r} has no stage {stage}; its stages are "
                    f"0..{spec.world_size - 1}"
                )
            if not 1 <= step <= spec.steps:
                raise UserError(
                    f"--fault {text!r}: {name!r} runs steps 1..{spec.steps} (warm-up included), "
                    f"so a fault at step {step} would never fire"
                )
            item = replace(item, spec=spec.with_(fault=fault))
        out.append(item)
    return out


def with_slow_stage(items: list[SuiteItem], stage: int, factor: float) -> list[SuiteItem]:
    """``items`` with stage ``stage`` of every pipeline benchmark slowed ``factor`` times.

    Benchmarks that are not pipelines, or whose pipeline has no such stage, are kept as
    they are: ``--slow-stage 3`` over a suite of two- and four-stage pipelines slows the
    four-stage ones only. A stage that no pipeline of the run has is an error, and so is a
    factor the suite key ``slow_factor`` would refuse (not finite, below 1, too large).
    """
    from dnibench.studies.registry import benchmark_kind

    key = key_for("slow_factor")
    assert key is not None, "the pipeline kind declares slow_factor"
    try:
        key.check(factor)
    except KeyProblem as problem:
        raise UserError(f"--slow-factor: {problem}".replace("key 'slow_factor' ", "")) from None
    out = []
    stages = 0
    for item in items:
        spec = item.spec
        if benchmark_kind(item.kind).pipeline and spec is not None:
            stages = max(stages, spec.world_size)
            if 0 <= stage < spec.world_size:
                item = replace(item, spec=spec.with_(slow_stage=stage, slow_factor=factor))
        out.append(item)
    if not stages:
        raise UserError("--slow-stage applies to pipeline benchmarks, and this run holds none")
    if not 0 <= stage < stages:
        raise UserError(
            f"--slow-stage {stage} is no stage of any pipeline benchmark of this run: stages "
            f"count from 0 and the largest pipeline here has {stages}, so 0..{stages - 1} "
            "(a pipeline with fewer stages than the one named is left unslowed)"
        )
    return out


def with_data(
    items: list[SuiteItem], data_dir: Path | None, text_path: Path | None
) -> list[SuiteItem]:
    """``items`` with the command line's corpus applied, every rnn corpus checked before running.

    ``--data-dir`` / ``--text-path`` on a run with no rnn benchmark is an error: the
    option would be silently ignored.
    """
    given = [f"--{o}" for o, v in (("data-dir", data_dir), ("text-path", text_path)) if v]
    rnn = any(i.recurrent is not None and i.recurrent.kind == "rnn" for i in items)
    lm = text_path is not None and any(_reads_tokens(i) for i in items)
    if given and not (rnn or lm):
        raise UserError(
            f"{' and '.join(given)} set the corpus of rnn benchmarks, and this run holds none"
            + (" (nor a gpt pipeline on a token corpus)" if text_path else "")
        )
    out = []
    for item in items:
        if text_path is not None and item.spec is not None and _reads_tokens(item):
            path = Path(text_path).expanduser()
            problem = text_file_problem(path, TEXT_SPLIT)
            if problem is not None:
                raise UserError(
                    f"benchmark {item.name!r}: text file {path} {problem}: pass --text-path "
                    "naming a readable, non-empty UTF-8 text file"
                )
            item = replace(item, spec=item.spec.with_(data="text", text_path=str(path)))
        if item.spec is not None and item.spec.data == "text" and item.spec.text_path is None:
            raise UserError(
                f"benchmark {item.name!r}: data 'text' needs a file: pass --text-path FILE "
                "(or text_path in the suite)"
            )
        config = item.recurrent
        if config is not None:
            config = _recurrent_with_data(config, data_dir, text_path)
            check_data(item.name, config)
            item = replace(item, recurrent=config)
        out.append(item)
    return out


def _reads_tokens(item: SuiteItem) -> bool:
    """Whether ``item`` is a pipeline benchmark of a language model (on a token corpus)."""
    return item.spec is not None and item.spec.data in TOKEN_DATA


def _recurrent_with_data(
    config: RecurrentConfig, data_dir: Path | None, text_path: Path | None
) -> RecurrentConfig:
    """``config`` with the command line's corpus (rnn benchmarks only; text wins over PTB)."""
    if config.kind != "rnn":
        return config
    if text_path is not None:
        return replace(config, data="text", text_path=Path(text_path).expanduser())
    if data_dir is not None:
        return replace(config, data="ptb", data_dir=Path(data_dir).expanduser())
    return config
