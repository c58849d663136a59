"""The version tables written in docs/async.md are the ones the stages actually use.

Each asynchronous mode runs on the streams runtime (CPU stand-in, one
process) at the doc's sizes; every stage's observed microbatch -> weight
version table (forward and backward, from the stage's own log) must equal
the table in the doc, cell for cell. Every asynchronous mode has a table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dnibench.modes import Family, mode_names
from dnibench.optim import OptimConfig
from dnibench.regimes.asynchronous import AsyncRule, Versions, stage_delay
from dnibench.runtimes.spec import BenchSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "async.md"
HEADING = re.compile(r"^### Version table: `([a-z0-9-]+)`$")
#: The sizes the doc's tables are written for.
STAGES, MICROBATCHES, STEPS = 3, 3, 3

Table = list[list[tuple[int, int]]]


def doc_tables(text: str) -> dict[str, Table]:
    """Mode -> per stage, per microbatch, (forward version, backward version)."""
    tables: dict[str, Table] = {}
    mode = None
    for line in text.splitlines():
        heading = HEADING.match(line)
        if heading:
            mode = heading.group(1)
            tables[mode] = []
        elif mode is not None and re.match(r"^\| \d+ \|", line):
            cells = [cell.strip() for cell in line.strip("|").split("|")][1:]
            row = [tuple(int(v) for v in cell.split("/")) for cell in cells]
            tables[mode].append([(f, b) for f, b in row])
        elif mode is not None and line.startswith("#"):
            mode = None
    return tables


def test_the_parser_reads_a_table() -> None:
    text = "### Version table: `x`\n\n| stage | mb 0 | mb 1 |\n|---|---|---|\n| 0 | 0/1 | 2/3 |\n"
    assert doc_tables(text) == {"x": [[(0, 1), (2, 3)]]}


def test_every_asynchronous_mode_has_a_table_of_every_stage() -> None:
    tables = doc_tables(DOC.read_text(encoding="utf-8"))
    assert set(tables) == set(mode_names(Family.ASYNC))
    for table in tables.values():
        assert len(table) == STAGES
        assert all(len(row) == MICROBATCHES * STEPS for row in table)


@pytest.mark.parametrize("mode", mode_names(Family.ASYNC))
def test_the_stages_use_the_versions_the_doc_says(mode: str) -> None:
    from dnibench.runtimes.streams.runner import run_streams

    spec = BenchSpec(
        name=mode, mode=mode, width=16, depth=3, input_shape=(32,), stages=STAGES,
        microbatches=MICROBATCHES, batch_size=12, steps=STEPS, warmup=0,
        optim=OptimConfig(name="sgd", lr=0.1), runtime="streams", device="cpu", timeout_s=30,
    )  # fmt: skip
    expected = doc_tables(DOC.read_text(encoding="utf-8"))[mode]
    ranks = run_streams(spec).ranks
    for rank, row in zip(ranks, expected, strict=True):
        observed = list(zip(rank.log["forward_version"], rank.log["backward_version"], strict=True))
        assert observed == [(float(f), float(b)) for f, b in row], f"{mode} stage {rank.rank}"


def test_the_rules() -> None:
    assert AsyncRule(Versions.STASHED, True).stashes
    assert AsyncRule(Versions.PREVIOUS_STEP, False).stashes
    assert not AsyncRule(Versions.UNSTASHED, True).stashes
    assert [stage_delay(k, 4) for k in range(4)] == [3, 2, 1, 0]
