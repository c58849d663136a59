"""The one writer of run directories: atomic files, whole rows, no symlinks followed.

A run directory is read long after it was written, often while it is still
being written (a report of a run in progress) and after a crash or Ctrl-C.
So whole files are written to a temporary name beside their place and renamed
over it (a reader sees the old file or the new one, never half of one), rows
are appended with one write each (a crash loses a row, never leaves half of
one), and no path inside the run folder is followed through a symlink: a
link there would send results somewhere else, so writing refuses with a
:class:`~dnibench.errors.UserError` naming it.

Traces are gzip-compressed (Perfetto opens ``.json.gz`` as it is) and only
the first launch of each benchmark keeps one, unless the run was prepared
with ``keep_all_traces`` (``dnibench run --all-traces``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from dnibench.errors import UserError
from dnibench.rundir import layout
from dnibench.rundir.layout import (
    CONFIG,
    CORPUS,
    CURVE_CLOCK_COLUMNS,
    CURVE_COLUMNS,
    CURVES,
    DERIVED,
    ERRORS,
    FINGERPRINT,
    FORMAT_VERSION,
    RESULT_COLUMNS,
    RESULTS,
    RNN_CURVE_COLUMNS,
    RNN_CURVES,
    STATUS,
    STATUS_COLUMNS,
    TRACES,
)
from dnibench.rundir.reader import holds_run

ALL_TRACES = "all_traces"
"""The ``config.json`` key recording that every launch keeps its trace."""

Row = Mapping[str, object]


def _no_link(path: Path) -> Path:
    """``path``, or a UserError if it (or the run folder's sub-folder holding it) is a symlink."""
    for part in (path, path.parent):
        if part.is_symlink():
            raise UserError(
                f"{part} is a symbolic link; dnibench never writes through a link inside a run "
                "directory. Remove the link, or choose another --out"
            )
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, then a rename."""
    _no_link(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, document: object, *, indent: int = 2, sort_keys: bool = False) -> Path:
    """Write ``document`` as JSON to ``path`` atomically (non-JSON values as their ``str``)."""
    text = json.dumps(document, indent=indent, default=str, sort_keys=sort_keys)
    return write_text(path, text + ("\n" if sort_keys else ""))


def append_rows(path: Path, columns: Sequence[str], rows: Iterable[Row]) -> None:
    """Append ``rows`` to the CSV ``path`` (header first if new), in one write, then flush."""
    _no_link(path)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    new = not path.exists()
    if new:
        writer.writeheader()
    writer.writerows(rows)
    _append_bytes(path, buffer.getvalue().encode("utf-8"))


def _append_bytes(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` whole or not at all (never through a link).

    A write that fails part way (a full disk) is cut back to where the file
    ended, and a file this call created is removed again, so a CSV never ends
    in half a row and is never left empty (a header and its first row land
    in the same write).
    """
    if not data:
        return
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o644)
    size = os.fstat(descriptor).st_size
    try:
        written = os.write(descriptor, data)
        while written < len(data):  # a short write (rare): finish the row, never leave half
            written += os.write(descriptor, data[written:])
        os.fsync(descriptor)
    except BaseException:
        try:
            if size == 0:
                path.unlink(missing_ok=True)
            else:
                os.ftruncate(descriptor, size)
        except OSError:
            pass
        raise
    finally:
        os.close(descriptor)


def prepare(
    out: Path,
    config: Mapping[str, object],
    fingerprint: Mapping[str, object],
    *,
    keep_all_traces: bool = False,
) -> None:
    """Create the run directory ``out`` (which must not hold a run yet) with config and machine.

    ``config.json`` gets ``format_version`` and, when asked, ``all_traces``.
    """
    if out.is_symlink():
        raise UserError(f"--out {out} is a symbolic link; give the real folder")
    if holds_run(out):
        raise UserError(f"{out} already holds a run; choose another --out (nothing was changed)")
    out.mkdir(parents=True, exist_ok=True)
    traces = _no_link(out / TRACES)
    traces.mkdir(exist_ok=True)
    document: dict[str, object] = {"format_version": FORMAT_VERSION, **config}
    if keep_all_traces:
        document[ALL_TRACES] = True
    write_json(out / CONFIG, document)
    write_json(out / FINGERPRINT, fingerprint)


def write_derived_config(out: Path, derived: str, config: Mapping[str, object]) -> Path:
    """``config.json`` of a derived report (simulation, crosscheck), marked as such."""
    if derived not in layout.DERIVED_KINDS:
        raise ValueError(f"unknown derived report kind {derived!r}")
    document = {DERIVED: derived, "format_version": FORMAT_VERSION, **config}
    return write_json(out / CONFIG, document)


def write_fingerprint(out: Path, fingerprint: Mapping[str, object]) -> Path:
    """The machine's ``fingerprint.json`` in ``out``."""
    return write_json(out / FINGERPRINT, fingerprint)


def write_results_text(out: Path, csv_text: str) -> Path:
    """A whole ``results.csv`` at once (derived reports write their table in one go)."""
    return write_text(out / RESULTS, csv_text)


def write_verdicts(out: Path, rows: Iterable[Row]) -> Path:
    """The run's whole ``verdicts.csv`` at once (rewritten with every report build)."""
    buffer = io.StringIO(newline="")
    table = csv.DictWriter(buffer, fieldnames=list(layout.VERDICT_COLUMNS))
    table.writeheader()
    table.writerows(rows)
    return write_text(out / layout.VERDICTS, buffer.getvalue())


def append_results(out: Path, rows: Iterable[Row]) -> None:
    """Tidy result rows (:data:`~dnibench.rundir.layout.RESULT_COLUMNS`)."""
    append_rows(out / RESULTS, RESULT_COLUMNS, rows)


def append_curves(out: Path, rows: Iterable[Row]) -> None:
    """Learning-curve rows of a training benchmark."""
    append_rows(out / CURVES, (*CURVE_COLUMNS, *CURVE_CLOCK_COLUMNS), rows)


def append_rnn_curves(out: Path, rows: Iterable[Row]) -> None:
    """Curve rows of a recurrent benchmark."""
    append_rows(out / RNN_CURVES, RNN_CURVE_COLUMNS, rows)


def append_status(out: Path, rows: Iterable[Row]) -> None:
    """Status rows: one per benchmark run."""
    append_rows(out / STATUS, STATUS_COLUMNS, rows)


def append_error(out: Path, text: str) -> None:
    """Add one failed benchmark's full traceback to the run's error log (never through a link)."""
    path = _no_link(out / ERRORS)
    _append_bytes(path, text.encode("utf-8", errors="replace"))


def keeps_all_traces(out: Path) -> bool:
    """Whether the run was prepared to keep every launch's trace (``--all-traces``)."""
    try:
        config = json.loads((out / CONFIG).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get(ALL_TRACES) is True


def keeps_trace(out: Path, launch: int) -> bool:
    """Whether launch ``launch`` (0 is the first) of a benchmark keeps its trace."""
    return launch == 0 or keeps_all_traces(out)


def write_trace(out: Path, name: str, trace: object, *, launch: int = 0) -> Path | None:
    """The gzip'd trace of launch ``launch`` of a benchmark as ``traces/NAME.json.gz``.

    Only launch 0 keeps one unless the run keeps all (None: not written; ask
    :func:`keeps_trace` first to skip building the trace). gzip's mtime is 0,
    so the same trace gives the same bytes.
    """
    if not keeps_trace(out, launch):
        return None
    payload = json.dumps(trace).encode("utf-8")
    return write_bytes(out / TRACES / layout.trace_name(name), gzip.compress(payload, mtime=0))


def write_corpus(out: Path, benchmark: str, provenance: Mapping[str, object]) -> Path:
    """Add one benchmark's corpus record to ``corpus.json`` (one entry per benchmark)."""
    path = _no_link(out / CORPUS)
    known = json.loads(path.read_text()) if path.is_file() else {}
    known[benchmark] = dict(provenance)
    return write_json(path, known, sort_keys=True)


__all__ = [
    "ALL_TRACES", "append_curves", "append_error", "append_results", "append_rnn_curves",
    "append_rows", "append_status", "keeps_all_traces", "keeps_trace", "prepare", "write_bytes",
    "write_corpus", "write_derived_config", "write_fingerprint", "write_json",
    "write_results_text", "write_text", "write_trace", "write_verdicts",
]  # fmt: skip
