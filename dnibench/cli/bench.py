"""``dnibench bench``: one pipeline benchmark, spawned locally or under torchrun.

Suites (``dnibench run``) are how grids are run; this command runs a single
benchmark built from flags on top of the ``pipeline`` suite's base model,
read from ``suites/pipeline.toml`` itself (its ``[defaults]``), so the model
and the grid are written once, in the suite file.
Run locally, dnibench spawns one process per stage itself. Under ``torchrun``
(one node or several) every process runs this same command; each becomes
the rank torchrun gave it, and rank 0 prints and writes the results.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

from dnibench.cli.exit_codes import EXIT_FAILED
from dnibench.cli.signals import stops_on_signals
from dnibench.errors import UserError
from dnibench.rundir.reader import holds_run
from dnibench.runtimes.spec import BENCH_MODES, BenchSpec
from dnibench.suites import load_suite

#: The ``pipeline`` suite's benchmark that is its ``[defaults]`` with only mode and m set.
BASE_BENCHMARK = "gpipe-m8"


def pipeline_base() -> BenchSpec:
    """The ``pipeline`` suite's base model: what every flag not given keeps."""
    spec = load_suite("pipeline").item(BASE_BENCHMARK).spec
    if spec is None:
        raise UserError(f"the pipeline suite's {BASE_BENCHMARK} is not a pipeline benchmark")
    return spec


def add_bench_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="run one pipeline benchmark (locally, or as one rank under torchrun)",
        description=(
            "Run one pipeline benchmark, one process per stage over torch.distributed, and "
            "print its throughput, efficiency and lock idle; --out also keeps a run directory. "
            "Under torchrun each process becomes one rank. Grids are suites: see dnibench run."
        ),
    )
    parser.add_argument("--mode", required=True, help=f"one of {', '.join(BENCH_MODES)}")
    suite = "default: the pipeline suite's"
    parser.add_argument("--stages", type=int, help=suite)
    parser.add_argument("--microbatches", type=int, default=8)
    parser.add_argument("--staleness", type=int, help=suite)
    parser.add_argument("--steps", type=int, help=suite)
    parser.add_argument("--warmup", type=int, help=suite)
    parser.add_argument("--timeout", type=float, help=f"seconds a rank may wait ({suite})")
    parser.add_argument("--slow-stage", type=int, help="make this stage a straggler")
    parser.add_argument("--slow-factor", type=float, default=1.0)
    parser.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    parser.add_argument("--out", type=Path, help="also write a run directory here")
    parser.set_defaults(handler=run_bench)


def bench_spec(args: argparse.Namespace) -> BenchSpec:
    """The benchmark the flags describe, on the pipeline suite's base model."""
    base = pipeline_base()

    def given(flag: str, default: object) -> object:
        value = getattr(args, flag)
        return default if value is None else value

    stages = base.stages if args.stages is None else args.stages
    changes: dict[str, object] = {
        "name": f"{args.mode}-k{stages}-m{args.microbatches}",
        "mode": args.mode,
        "stages": stages,
        "microbatches": args.microbatches,
        "staleness": given("staleness", base.staleness),
        "steps": given("steps", base.steps),
        "warmup": given("warmup", base.warmup),
        "timeout_s": given("timeout", base.timeout_s),
        "slow_stage": args.slow_stage,
        "slow_factor": args.slow_factor,
        "backend": args.backend,
    }
    if stages != base.stages:
        changes["balance"] = None
    _check_numbers(changes)
    return base.with_(**changes)


def _check_numbers(changes: dict[str, object]) -> None:
    """--timeout and --slow-factor as a suite's keys check them (finite, in range)."""
    from dnibench.suites.schema import KeyProblem, key_for

    for flag, name in (("--timeout", "timeout_s"), ("--slow-factor", "slow_factor")):
        key = key_for(name)
        assert key is not None, f"the pipeline kind declares {name}"
        try:
            key.check(changes[name])
        except KeyProblem as problem:
            raise UserError(f"{flag}: {problem}".replace(f"key {name!r} ", "")) from None


def under_torchrun() -> bool:
    """Whether torchrun (or another env:// launcher) started this process."""
    return "TORCHELASTIC_RUN_ID" in os.environ or (
        "RANK" in os.environ and "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ
    )


def _print_result(result) -> None:
    m = result.metrics
    idle = " ".join(
        f"s{s.stage}: act {s.wait_activation_fraction:.2f} grad {s.wait_gradient_fraction:.2f}"
        for s in m.stages
    )
    print(
        f"{result.spec.name}: {m.throughput:.0f} samples/s, efficiency {m.efficiency:.3f}, "
        f"lock idle {idle} ({result.wall_s:.0f} s)",
        flush=True,
    )


def _keep(result, out: Path | None) -> None:
    if out is None:
        return
    from dnibench.bench.session import prepare_run_dir
    from dnibench.rundir import writer

    prepare_run_dir(out, [result.spec])
    writer.append_results(out, result.rows())
    print(f"results written to {out}")


def _run_torchrun(spec: BenchSpec, out: Path | None) -> int:
    import torch.distributed as dist

    from dnibench.bench.run import summarise
    from dnibench.runtimes.distributed.worker import init_group, run_rank

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
    print(f"torchrun: {world} ranks, rank 0 on {socket.gethostname()}")
    _print_result(result)
    _keep(result, out)
    return 0


@stops_on_signals  # SIGTERM and SIGHUP stop the ranks as Ctrl-C does: exit 143, 129
def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark the flags describe and print its figures.

    A failed stage prints one line naming it, then what the ranks wrote (their
    tracebacks: there is no run directory's error log to hold them), and exits 3.
    """
    spec = bench_spec(args)
    if under_torchrun():
        return _run_torchrun(spec, args.out)
    if args.out is not None and holds_run(args.out):
        raise UserError(f"{args.out} already holds a run; choose another --out")
    from dnibench.bench.run import run_benchmark
    from dnibench.runtimes.harness import RankFailure

    try:
        result = run_benchmark(spec, deadline_s=spec.timeout_s * 4 + 60 * spec.steps)
    except RankFailure as failure:
        print(f"dnibench: {spec.name} failed: {failure}", file=sys.stderr)
        if failure.output:
            print(f"what the ranks wrote:\n{failure.output}", file=sys.stderr, end="")
        return EXIT_FAILED
    _print_result(result)
    _keep(result, args.out)
    return 0
