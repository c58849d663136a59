"""Check a folder against what the device tool brings back from ``$OUT``.

Only at most 8 files come back, each at most 16 MiB and 64 MiB together, no
deeper than two folders down, named in letters, digits, ``.``, ``_`` and
``-``; anything else is silently left behind. A GPU check that finds out only
after its lease has ended loses the run, so ``tools/gpu_check.sh`` packs into
one archive and runs ``python tools/out_limits.py $OUT`` before it exits:
exit 0 when everything would come back, 1 with one line per problem when not.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAX_FILES = 8
MAX_FILE_BYTES = 16 * 2**20
MAX_TOTAL_BYTES = 64 * 2**20
MAX_FOLDERS_DOWN = 2
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def problems(out: Path) -> list[str]:
    """Why some of ``out`` would not come back ([] when all of it would)."""
    if not out.is_dir():
        return [f"{out} is not a folder"]
    found: list[str] = []
    files = []
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out)
        if not all(_NAME.match(part) for part in relative.parts):
            found.append(f"{relative}: name outside letters, digits, '.', '_' and '-'")
        if path.is_symlink():
            found.append(f"{relative}: a link (links do not come back)")
        elif path.is_file():
            files.append(path)
            if len(relative.parts) - 1 > MAX_FOLDERS_DOWN:
                found.append(f"{relative}: more than {MAX_FOLDERS_DOWN} folders down")
            if path.stat().st_size > MAX_FILE_BYTES:
                found.append(f"{relative}: {path.stat().st_size} bytes, over {MAX_FILE_BYTES}")
        elif not path.is_dir():
            found.append(f"{relative}: not a plain file")
    if len(files) > MAX_FILES:
        found.append(f"{len(files)} files, over {MAX_FILES}")
    total = sum(path.stat().st_size for path in files)
    if total > MAX_TOTAL_BYTES:
        found.append(f"{total} bytes in all, over {MAX_TOTAL_BYTES}")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python tools/out_limits.py FOLDER", file=sys.stderr)
        return 2
    out = Path(args[0])
    found = problems(out)
    for line in found:
        print(f"out limits: {line}")
    if not found:
        files = [p for p in out.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        print(f"out limits: ok ({len(files)} files, {size / 2**20:.2f} MiB)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
