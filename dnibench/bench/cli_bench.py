"""``dnibench bench``: run a benchmark grid, or one benchmark, and report it.

Run locally, dnibench spawns one process per stage itself. Under ``torchrun``
(one node or several) every process runs this same command; each becomes
the rank torchrun gave it, and rank 0 writes the results.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import os
import shlex
import socket
import sys
import time
from pathlib import Path

from dnibench.bench.grids import GRIDS, PIPELINE_BASE, get_grid
from dnibench.bench.spec import BENCH_MODES, BenchSpec
from dnibench.errors import UserError


def add_bench_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="run a benchmark grid (or one benchmark) on real process groups",
        description=(
            "Run the pipeline grid of throughput benchmarks, one process per stage over "
            "torch.distributed, and write results, traces and report.md to a run directory. "
            "With --mode, run one benchmark instead (this is what torchrun launches)."
        ),
    )
    parser.add_argument("--grid", default="pipeline", help=f"one of {', '.join(GRIDS)}")
    parser.add_argument("--only", help="glob on benchmark names, e.g. 'dni-*'")
    parser.add_argument("--out", type=Path, help="run directory (default: reports/GRID-HOST-DATE)")
    parser.add_argument("--steps", type=int, help="override steps per benchmark")
    parser.add_argument("--warmup", type=int, help="override warm-up steps")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--mode", help=f"run one benchmark: one of {', '.join(BENCH_MODES)}")
    parser.add_argument("--stages", type=int, default=PIPELINE_BASE.stages)
    parser.add_argument("--microbatches", type=int, default=8)
    parser.add_argument("--staleness", type=int, default=PIPELINE_BASE.staleness)
    parser.add_argument("--timeout", type=float, default=PIPELINE_BASE.timeout_s)
    parser.add_argument("--slow-stage", type=int, help="make this stage a straggler")
    parser.add_argument("--slow-factor", type=float, default=1.0)
    parser.set_defaults(handler=run_bench)


def _default_out(grid: str) -> Path:
    host = os.environ.get("DNIBENCH_MACHINE") or f"cpu{os.cpu_count()}"
    stamp = datetime.date.today().isoformat()
    base = Path("reports") / f"{grid}-{host}-{stamp}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _single_spec(args: argparse.Namespace) -> BenchSpec:
    changes: dict[str, object] = {
        "name": f"{args.mode}-k{args.stages}-m{args.microbatches}",
        "mode": args.mode,
        "stages": args.stages,
        "microbatches": args.microbatches,
        "staleness": args.staleness,
        "timeout_s": args.timeout,
        "slow_stage": args.slow_stage,
        "slow_factor": args.slow_factor,
    }
    if args.stages != PIPELINE_BASE.stages:
        changes["balance"] = None
    if args.steps is not None:
        changes["steps"] = args.steps
    if args.warmup is not None:
        changes["warmup"] = args.warmup
    return PIPELINE_BASE.with_(**changes)


def _under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or (
        "RANK" in os.environ and "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ
    )


def _print_result(result) -> None:
    m = result.metrics
    idle = " ".join(
        f"s{s.stage}:act {s.wait_activation_fraction:.2f} grad {s.wait_gradient_fraction:.2f}"
        for s in m.stages
    )
    print(
        f"  {result.spec.name:<22} {m.throughput:9.0f} samples/s  eff {m.efficiency:.3f}  "
        f"idle {idle}  ({result.wall_s:.0f} s)",
        flush=True,
    )


def _run_torchrun(spec: BenchSpec, out: Path | None) -> int:
    import torch.distributed as dist

    from dnibench.bench.run import summarise
    from dnibench.runtimes.dist.worker import init_group, run_rank

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if world != spec.world_size:
        raise UserError(
            f"torchrun started {world} processes but --stages is {spec.stages}; "
            "use --nnodes x --nproc-per-node = --stages"
        )
    init_group(spec, rank, world, None)
    started = time.perf_counter()
    ranks = run_rank(spec, rank, world)
    dist.barrier()
    dist.destroy_process_group()
    if ranks is None:
        return 0
    result = summarise(spec, ranks, time.perf_counter() - started)
    print(f"torchrun: {world} ranks on {socket.gethostname()} (rank 0)")
    _print_result(result)
    if out is not None:
        from dnibench.bench.session import RESULT_FIELDS, append_csv, prepare_run_dir

        prepare_run_dir(out, [spec])
        append_csv(out / "results.csv", RESULT_FIELDS, result.rows())
        print(f"results written to {out}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    """Run the chosen grid (or single benchmark); print progress; write the report."""
    from dnibench.bench.pipeline_report import write_report
    from dnibench.bench.session import run_session

    if args.mode is not None:
        spec = _single_spec(args)
        if _under_torchrun():
            return _run_torchrun(spec, args.out)
        specs, skipped = [spec], []
    else:
        specs, skipped = get_grid(args.grid)
        changes: dict[str, object] = {}
        if args.steps is not None:
            changes["steps"] = args.steps
        if args.warmup is not None:
            changes["warmup"] = args.warmup
        specs = [spec.with_(**changes) for spec in specs]
    if args.only:
        specs = [spec for spec in specs if fnmatch.fnmatch(spec.name, args.only)]
        if not specs:
            raise UserError(f"--only {args.only!r} matches no benchmark of grid {args.grid}")
    out = args.out or _default_out(args.grid if args.mode is None else "bench")
    total = len(specs) * args.repeats
    print(f"running {total} benchmark(s) into {out}", flush=True)
    done = 0
    started = time.perf_counter()

    def progress(spec, result, message) -> None:
        nonlocal done
        done += 1
        elapsed = time.perf_counter() - started
        left = elapsed / done * (total - done)
        print(f"[{done}/{total}, about {left:.0f} s left]", end="", flush=True)
        if result is None:
            print(f"  {spec.name}: FAILED: {message}", flush=True)
        else:
            _print_result(result)

    try:
        run_session(specs, out, repeats=args.repeats, on_result=progress)
    except KeyboardInterrupt:
        print(f"\ninterrupted: results so far are kept in {out}", file=sys.stderr)
        _write_if_any(out, args, skipped, write_report)
        return 130
    _write_if_any(out, args, skipped, write_report)
    print(f"report: {out / 'report.md'}")
    return 0


def _write_if_any(out: Path, args: argparse.Namespace, skipped, write_report) -> None:
    if not (out / "results.csv").exists():
        return
    if skipped:
        from dnibench.bench.session import STATUS_FIELDS, append_csv

        rows = [{"benchmark": n, "status": "skipped", "seconds": 0, "message": why}
                for n, why in skipped]  # fmt: skip
        append_csv(out / "status.csv", STATUS_FIELDS, rows)
    command = "dnibench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    write_report(
        out, f"dnibench {args.grid if args.mode is None else 'bench'}: {out.name}", command
    )
