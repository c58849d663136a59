"""One-off: gzip every committed trace (``reports/*/traces/*.json`` -> ``.json.gz``).

Run directories now write traces compressed (:mod:`dnibench.rundir.writer`);
this turns the committed runs' plain traces into the same form, keeping every
launch (the golden-table test reads them), and removes the plain files.
gzip's mtime is 0 and no file name is stored, so the bytes depend only on the
trace: running it twice, or on another machine, gives the same files.

Usage: ``python tools/compress_traces.py [REPORTS_DIR]`` (default ``reports``).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from dnibench.rundir.layout import LEGACY_TRACE_SUFFIX, TRACE_SUFFIX, TRACES


def compress(trace: Path) -> Path:
    """Write ``trace``'s gzip'd twin beside it, check it reads back, then remove ``trace``."""
    data = trace.read_bytes()
    target = trace.with_name(trace.name[: -len(LEGACY_TRACE_SUFFIX)] + TRACE_SUFFIX)
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    if gzip.decompress(packed) != data:
        raise RuntimeError(f"{trace}: gzip round trip changed the bytes")
    target.write_bytes(packed)
    trace.unlink()
    return target


def main(argv: list[str]) -> int:
    reports = Path(argv[1]) if len(argv) > 1 else Path("reports")
    before = after = 0
    for trace in sorted(reports.glob(f"*/{TRACES}/*{LEGACY_TRACE_SUFFIX}")):
        before += trace.stat().st_size
        after += compress(trace).stat().st_size
    print(f"{before / 2**20:.1f} MiB of traces -> {after / 2**20:.1f} MiB gzip'd")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
