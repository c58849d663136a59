"""Run a list of benchmarks into a run directory, keeping every result as it lands.

Layout of a run directory::

    config.json        the expanded benchmark specs, in run order
    fingerprint.json   the machine (see :mod:`fingerprint`)
    results.csv        tidy rows, appended as each benchmark ends
    status.csv         one row per benchmark: ok / failed / skipped / interrupted
    traces/NAME.json   merged Chrome trace of each benchmark (opens in Perfetto)

A crash or Ctrl-C loses only the benchmark in progress: rows are appended
and flushed one benchmark at a time, and the status file says what happened
to the rest.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from dnibench.bench.fingerprint import fingerprint
from dnibench.bench.run import BenchResult, run_benchmark
from dnibench.bench.spec import BenchSpec
from dnibench.errors import UserError
from dnibench.runtimes.dist.launch import RankFailure

RESULT_FIELDS = [
    "benchmark", "mode", "stages", "microbatches", "metric", "stage", "repeat", "value", "unit",
]  # fmt: skip
STATUS_FIELDS = ["benchmark", "status", "seconds", "message"]


def _append(path: Path, fields: list[str], rows: Sequence[dict]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerows(rows)
        handle.flush()


def prepare_run_dir(out: Path, specs: Sequence[BenchSpec]) -> None:
    """Create ``out`` (which must not hold results yet) with config and fingerprint."""
    if (out / "results.csv").exists() or (out / "status.csv").exists():
        raise UserError(f"{out} already holds a run; choose another --out (nothing was changed)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "traces").mkdir(exist_ok=True)
    config = [asdict(spec) for spec in specs]
    (out / "config.json").write_text(json.dumps(config, indent=2, default=str))
    world = max((spec.world_size for spec in specs), default=1)
    backend = specs[0].backend if specs else "gloo"
    (out / "fingerprint.json").write_text(json.dumps(fingerprint(backend, world), indent=2))


def run_session(
    specs: Sequence[BenchSpec],
    out: Path,
    *,
    repeats: int = 1,
    deadline_s: float | None = 600,
    on_result: Callable[[BenchSpec, BenchResult | None, str], None] | None = None,
) -> list[BenchResult]:
    """Run ``specs`` ``repeats`` times each into ``out``; failures are recorded, not fatal.

    Ctrl-C stops the benchmark in progress (its ranks included), records it as
    interrupted and re-raises, so the caller can report what was kept.
    """
    prepare_run_dir(out, specs)
    results: list[BenchResult] = []
    pending = [(spec, repeat) for repeat in range(repeats) for spec in specs]
    for index, (spec, repeat) in enumerate(pending):
        started = time.perf_counter()
        try:
            result = run_benchmark(spec, deadline_s=deadline_s)
        except KeyboardInterrupt:
            rows = [{"benchmark": s.name, "status": "interrupted", "seconds": 0, "message": ""}
                    for s, _ in pending[index:]]  # fmt: skip
            _append(out / "status.csv", STATUS_FIELDS, rows)
            raise
        except (RankFailure, UserError) as err:
            seconds = time.perf_counter() - started
            row = {"benchmark": spec.name, "status": "failed", "seconds": f"{seconds:.1f}",
                   "message": str(err)}  # fmt: skip
            _append(out / "status.csv", STATUS_FIELDS, [row])
            if on_result is not None:
                on_result(spec, None, str(err))
            continue
        _append(out / "results.csv", RESULT_FIELDS, result.rows(repeat))
        name = spec.name if repeats == 1 else f"{spec.name}-r{repeat}"
        (out / "traces" / f"{name}.json").write_text(json.dumps(result.trace()))
        row = {"benchmark": spec.name, "status": "ok", "seconds": f"{result.wall_s:.1f}",
               "message": ""}  # fmt: skip
        _append(out / "status.csv", STATUS_FIELDS, [row])
        results.append(result)
        if on_result is not None:
            on_result(spec, result, "ok")
    return results
