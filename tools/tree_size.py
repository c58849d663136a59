"""Check that the tracked tree is small enough to travel to a lent GPU machine.

The device tool copies at most 64 MiB of working tree; the limit here (56 MiB
by default) leaves room for what a session builds beside it. Tracked files
are what ``git ls-files`` lists; outside a checkout (the copy on the device
has no ``.git``) every file under the root counts, caches excepted. Exit 0
within the limit, 1 over it with the largest files named, 2 on bad input.

    python tools/tree_size.py [--limit-mib 56] [--root .]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

DEFAULT_LIMIT_MIB = 56.0
_SKIPPED_DIRS = {".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build"}


def tracked_files(root: Path) -> list[Path]:
    """The files ``git ls-files`` lists under ``root``, or every file when it is no checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in root.rglob("*")
            if path.is_file() and not _SKIPPED_DIRS.intersection(path.relative_to(root).parts)
        ]
    return [root / name for name in listed.decode().split("\0") if name]


def tree_bytes(root: Path) -> tuple[int, list[tuple[int, Path]]]:
    """Total bytes of the tracked files, and (size, path) of each, largest first."""
    sizes = [(path.stat().st_size, path) for path in tracked_files(root) if path.is_file()]
    sizes.sort(key=lambda pair: pair[0], reverse=True)
    return sum(size for size, _ in sizes), sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mib", type=float, default=DEFAULT_LIMIT_MIB)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    if not args.root.is_dir() or not args.limit_mib > 0:
        print("tree_size: --root must be a folder and --limit-mib > 0", file=sys.stderr)
        return 2
    total, sizes = tree_bytes(args.root)
    mib = total / 2**20
    if mib <= args.limit_mib:
        print(f"tree_size: {mib:.1f} MiB tracked, within {args.limit_mib:g} MiB")
        return 0
    print(
        f"tree_size: {mib:.1f} MiB tracked, over {args.limit_mib:g} MiB; largest:", file=sys.stderr
    )
    for size, path in sizes[:10]:
        print(f"  {size / 2**20:7.2f} MiB  {path.relative_to(args.root)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
