"""Write the GPU check's priorities page (dnibench.studies.gpu.check_summary) to a file.

``python tools/gpu_summary.py --groups GROUPS.tsv --reports DIR --limit-s 330
--elapsed-s 301 --out PAGE.md`` reads the group lines ``tools/gpu_check.sh``
wrote and the run directories under ``DIR`` they name, and writes the page
(printing it too). Exit 1 with the reason when the group lines are unreadable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dnibench.studies.gpu.check_summary import read_groups, summary_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=Path, required=True, help="the group lines (TSV)")
    parser.add_argument("--reports", type=Path, required=True, help="folder of run directories")
    parser.add_argument("--limit-s", type=int, required=True, help="the check's time limit")
    parser.add_argument("--elapsed-s", type=int, required=True, help="seconds the check took")
    parser.add_argument("--out", type=Path, action="append", default=[], help="write it here")
    args = parser.parse_args(argv)
    try:
        groups = read_groups(args.groups)
    except (OSError, ValueError) as error:
        print(f"gpu_summary: {error}", file=sys.stderr)
        return 1
    page = summary_markdown(args.reports, groups, args.limit_s, args.elapsed_s)
    for out in args.out:
        out.write_text(page, encoding="utf-8")
    print(page, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
