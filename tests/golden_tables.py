"""Render a committed run's report as tables only, for the golden-file test.

The golden files in ``tests/golden/`` were written from main at 63461f1,
before the restructuring of the run directory, modes and studies; the test
re-renders every committed benchmark run the same way and compares byte for
byte, so a refactor that changes a reported figure fails loudly. The run is
copied to a scratch folder first (report sections draw plots into the run
folder), and image lines are dropped: the tables are what must not move.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

#: Committed benchmark runs whose tables are guarded (derived reports are not re-rendered).
GOLDEN_RUNS = (
    "ff-cpu2-2026-12-01",
    "pipeline-balanced-cpu2-2026-11-22",
    "pipeline-cpu2-2026-11-22",
    "pipeline-cpu2-2026-12-01",
    "pipeline-slow1.5-cpu2-2026-11-22",
    "quick-cpu2-2026-11-22",
    "rnn-copy-cpu2-2026-12-01",
    "rnn-cpu2-2026-11-22",
    "rnn-cpu2-2026-12-01",
)

_IMAGE = re.compile(r"^\s*!\[.*\]\(.*\)\s*$")


def render_tables(run_name: str, scratch: Path) -> str:
    """The run's report as Markdown with every image line removed."""
    from dnibench.report.build import report_blocks
    from dnibench.report.markdown import render_markdown
    from dnibench.rundir.reader import load_run
    from dnibench.studies.registry import extra_sections, report_hooks

    copy = scratch / run_name
    shutil.copytree(REPO / "reports" / run_name, copy, ignore=shutil.ignore_patterns("plots"))
    sections = extra_sections(copy)
    extra = "\n".join(section.markdown for section in sections)
    blocks = report_blocks(
        load_run(copy),
        {},
        title=f"golden: {run_name}",
        command=None,
        extra_markdown=extra,
        hooks=report_hooks(),
        verdicts=[record for section in sections for record in section.verdicts],
    )
    lines = render_markdown(blocks).splitlines()
    return "\n".join(line for line in lines if not _IMAGE.match(line)) + "\n"


if __name__ == "__main__":
    import tempfile

    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in GOLDEN_RUNS:
        with tempfile.TemporaryDirectory() as tmp:
            text = render_tables(name, Path(tmp))
        (GOLDEN_DIR / f"{name}.md").write_text(text, encoding="utf-8")
        print(name, len(text))
