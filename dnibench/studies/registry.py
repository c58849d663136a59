"""Where the studies are found, and the kinds and report sections they bring.

The one registration point: every subpackage of :mod:`dnibench.studies` with
a ``study`` module is a study (its ``STUDY``), and so is every package named
in ``$DNIBENCH_STUDIES`` (comma-separated import names, each with a ``study``
module), so a study outside this repository is a folder on ``sys.path`` and
one variable, with no edit anywhere else. Suites, runs and reports all ask
here, so a new kind is checked, run and reported the moment its folder exists.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import pkgutil
from pathlib import Path

import dnibench.studies
from dnibench.errors import UserError, unknown_name
from dnibench.report.hooks import ReportHooks
from dnibench.report.section import Section
from dnibench.studies.kind import AnyKind
from dnibench.studies.study import SectionFn, Study

STUDIES_ENV = "DNIBENCH_STUDIES"


def _study_modules() -> list[str]:
    names = [
        f"{dnibench.studies.__name__}.{info.name}"
        for info in pkgutil.iter_modules(dnibench.studies.__path__)
        if info.ispkg
    ]
    found = [name for name in names if importlib.util.find_spec(f"{name}.study") is not None]
    extra = [name.strip() for name in os.environ.get(STUDIES_ENV, "").split(",") if name.strip()]
    return found + extra


def _load(package: str) -> Study:
    try:
        module = importlib.import_module(f"{package}.study")
    except ModuleNotFoundError as error:
        raise UserError(
            f"study {package!r} (from ${STUDIES_ENV}) cannot be imported: {error}"
        ) from None
    study = getattr(module, "STUDY", None)
    if not isinstance(study, Study):
        raise UserError(f"{package}.study defines no STUDY (a dnibench.studies.study.Study)")
    return study


@functools.cache
def studies() -> tuple[Study, ...]:
    """Every study, by rank (read once per process)."""
    return tuple(sorted((_load(name) for name in _study_modules()), key=lambda s: s.rank))


def kinds() -> dict[str, AnyKind]:
    """Every kind of benchmark, in the order of its study's rank."""
    found: dict[str, AnyKind] = {}
    for study in studies():
        for kind in study.kinds:
            if kind.name in found:
                raise UserError(f"two studies declare the benchmark kind {kind.name!r}")
            found[kind.name] = kind
    return found


def benchmark_kind(name: str) -> AnyKind:
    """The registered kind ``name``; a UserError listing the kinds (with a close match) if none."""
    every = kinds()
    try:
        return every[name]
    except KeyError:
        raise unknown_name("benchmark kind", name, every) from None


def registered_sections() -> list[SectionFn]:
    """Every report section, in report order (each study's, by its section rank)."""

    def rank(study: Study) -> int:
        return study.rank if study.section_rank is None else study.section_rank

    ordered = sorted(studies(), key=rank)
    return [section for study in ordered for section in study.sections]


def report_hooks() -> ReportHooks:
    """The studies' additions to the generic run summary, merged in rank order."""
    merged = ReportHooks()
    for study in studies():
        if study.hooks is not None:
            merged = merged.merged(study.hooks)
    return merged


def extra_sections(run_dir: Path) -> list[Section]:
    """The sections that apply to ``run_dir``."""
    found = []
    for section_fn in registered_sections():
        section = section_fn(Path(run_dir))
        if section is not None:
            found.append(section)
    return found


__all__ = [
    "STUDIES_ENV", "benchmark_kind", "extra_sections", "kinds", "registered_sections",
    "report_hooks", "studies",
]  # fmt: skip
