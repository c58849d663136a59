"""The K-map study: its kind (a ttq configuration replayed in one process) and its section.

A ``kmap`` benchmark takes every ttq key (model, split, m, staleness,
target, ...) and trains in the one-process replay of the pipeline
(:mod:`dnibench.runtimes.spec_replay`), so it runs without a pipeline's cores
and side by side under ``run --jobs`` (one thread each). Its section, after the
ttq section, combines its samples to target with the simulator's throughput.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnibench.report.section import Section
from dnibench.studies.item import Item
from dnibench.studies.kind import BenchmarkKind
from dnibench.studies.kmap import KMAP, REPLAY_RUNTIME
from dnibench.studies.study import Study
from dnibench.studies.ttq.keys import TTQ_KEYS, build_ttq, ttq_body

if TYPE_CHECKING:
    from dnibench.studies.kmap.run import KmapResult


def _build(item: Item, values: Mapping[str, Any]) -> Item:
    # The spec is a dist pipeline's (what the replay reproduces); the item runs in one process.
    built = build_ttq(replace(item, runtime="dist"), values)
    return replace(built, runtime=item.runtime)


def _compute(item: Item, repeat: int, deadline_s: float | None) -> KmapResult:
    from dnibench.runtimes.one_process import watched
    from dnibench.studies.kmap.run import run_kmap

    spec = ttq_body(item).spec
    if spec.name != item.name:
        spec = spec.with_(name=item.name)
    with watched(item.name, spec.timeout_s):  # a hang fails it within timeout_s
        return run_kmap(spec, repeat)


def _record(out: Path, item: Item, result: KmapResult, repeat: int, repeats: int) -> None:
    from dnibench.rundir import writer
    from dnibench.studies.kmap.run import kmap_curve_rows, kmap_rows

    writer.append_curves(out, kmap_curve_rows(item.name, result, repeat))
    writer.append_results(out, kmap_rows(ttq_body(item), result, repeat))


def _k_map(run_dir: Path) -> Section | None:
    """Predicted time to target over K and m, and where each decoupled regime wins."""
    from dnibench.studies.kmap.section import kmap_section

    return kmap_section(run_dir)


KIND: BenchmarkKind[KmapResult] = BenchmarkKind(
    KMAP,
    runtimes=(REPLAY_RUNTIME,),
    keys=TTQ_KEYS,
    build=_build,
    body=ttq_body,
    compute=_compute,
    record=_record,
    progress=lambda result: f"best held-out accuracy {result.best:.4f} (seed {result.seed})",
    figures=lambda result: {"best_test_accuracy": result.best},
    parallel=True,
)

STUDY = Study("kmap", rank=36, kinds=(KIND,), sections=(_k_map,))
