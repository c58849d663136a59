"""The recurrent study: its kinds (``rnn`` character LM, ``copy`` curricula) and section.

Both kinds train on one thread and time their own CPU, so ``run --jobs``
runs them side by side. The section comes before the feed-forward one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnibench.report.section import Section
from dnibench.studies.item import Item
from dnibench.studies.keys import Key
from dnibench.studies.kind import BenchmarkKind
from dnibench.studies.recurrent.config import build_recurrent
from dnibench.studies.recurrent.keys import COPY_KEYS, RNN_KEYS
from dnibench.studies.study import Study

if TYPE_CHECKING:
    from dnibench.studies.recurrent.bench import RecurrentRun
    from dnibench.studies.recurrent.copy_bench import CopyPoint
    from dnibench.studies.recurrent.lm_bench import LMPoint


def _build(item: Item, values: Mapping[str, Any]) -> Item:
    config = build_recurrent(item.kind, values)
    if config.seeds is not None and len(config.seeds) != item.repeats:
        raise ValueError(
            f"seeds lists {len(config.seeds)} seeds but the benchmark runs {item.repeats} "
            f"repeats: set repeats = {len(config.seeds)} (one seed per repeat)"
        )
    return replace(item, recurrent=config)


def _compute(item: Item, repeat: int, deadline_s: float | None) -> RecurrentRun:
    from dnibench.runtimes.one_process import watched
    from dnibench.studies.recurrent.bench import run_recurrent

    assert item.recurrent is not None, f"recurrent benchmark {item.name} has no configuration"
    with watched(item.name, item.recurrent.timeout_s):  # a hang fails it within timeout_s
        return run_recurrent(item.name, item.recurrent, repeat)


def _record(out: Path, item: Item, result: RecurrentRun, repeat: int, repeats: int) -> None:
    """Append one recurrent run's rows, curve and corpus to the run directory."""
    from dnibench.rundir import writer

    writer.append_results(out, result.rows())
    writer.append_rnn_curves(out, result.curve_rows())
    result.write_provenance(out)


def _lm_final(result: RecurrentRun) -> LMPoint:
    from dnibench.studies.recurrent.lm_bench import LMPoint

    final = result.result.final
    assert isinstance(final, LMPoint), f"{result.name} is not a character-LM run"
    return final


def _copy_final(result: RecurrentRun) -> CopyPoint:
    from dnibench.studies.recurrent.copy_bench import CopyPoint

    final = result.result.final
    assert isinstance(final, CopyPoint), f"{result.name} is not a copy run"
    return final


def _rnn_line(result: RecurrentRun) -> str:
    final = _lm_final(result)
    return f"held-out BPC {final.test_bpc:.4f} after {final.chars:,} chars"


def _rnn_figures(result: RecurrentRun) -> dict[str, float]:
    final = _lm_final(result)
    return {"chars": float(final.chars), "test_bpc": final.test_bpc}


def _copy_line(result: RecurrentRun) -> str:
    return f"longest solved length {_copy_final(result).longest_solved}"


def _copy_figures(result: RecurrentRun) -> dict[str, float]:
    final = _copy_final(result)
    return {"chars": float(final.chars), "longest_solved": float(final.longest_solved)}


def _recurrent(run_dir: Path) -> Section | None:
    """Truncated BPTT against DNI: BPC curves, ratios, targets, copy lengths (rnn/copy kinds)."""
    from dnibench.studies.recurrent.report.section import rnn_section

    return rnn_section(run_dir)


def _kind(
    name: str,
    keys: tuple[Key, ...],
    progress: Callable[[RecurrentRun], str],
    figures: Callable[[RecurrentRun], dict[str, float]],
) -> BenchmarkKind[RecurrentRun]:
    return BenchmarkKind(
        name,
        runtimes=("reference",),
        keys=keys,
        build=_build,
        body=lambda item: item.recurrent,
        compute=_compute,
        record=_record,
        progress=progress,
        figures=figures,
        parallel=True,
    )


RNN = _kind("rnn", RNN_KEYS, _rnn_line, _rnn_figures)
COPY = _kind("copy", COPY_KEYS, _copy_line, _copy_figures)

STUDY = Study("recurrent", rank=30, kinds=(RNN, COPY), sections=(_recurrent,), section_rank=15)
