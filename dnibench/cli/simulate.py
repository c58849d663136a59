"""``dnibench simulate``: predict every regime at scale from a measured run.

Reads a run directory, calibrates the simulator from its spans, checks the
calibration against the run's own measured throughput, sweeps K, m and the
SG's relative cost, and writes a new run directory (a derived report: its
results table, its config marked ``"derived": "simulation"`` with the source
run's fingerprint, this machine's fingerprint, the report and plots).
Bad input (a missing or corrupt run directory, a malformed list, a
straggler outside the pipeline, an output directory that already holds
files) is a UserError: exit 2, nothing written.
With ``--predict TARGET_RUN`` it instead predicts another run out of sample
(:mod:`dnibench.cli.crosscheck`).
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from dnibench.cli.crosscheck import cmd_crosscheck
from dnibench.cli.simulate_output import (
    DEFAULT_MICROBATCHES,
    DEFAULT_SG_RELATIVE,
    DEFAULT_STAGES,
    check_out,
    check_source,
    write_new_dir,
)
from dnibench.errors import UserError, unknown_name
from dnibench.modes import DNI, ONE_F_ONE_B, SIMULATED_MODES, is_unlocked
from dnibench.simulate.calibrate import STATISTICS
from dnibench.simulate.crossover import crossover_map, zb_premise
from dnibench.simulate.out_of_sample import out_of_sample_rows
from dnibench.simulate.scaling import (
    SCALINGS,
    SweepSettings,
    model_costs_from_run,
    not_applicable,
    sweep,
)
from dnibench.simulate.validate import load_specs, validate_run

__all__ = ["add_simulate_parser", "cmd_simulate"]

CROSSOVER_STAGES = "2,4,8,16,32,64"


def _numbers(text: str, what: str, kind: type = int) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(
            f"--{what} {text!r}: expected comma-separated numbers, e.g. 1,4,8"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise UserError(f"--{what} {text!r}: every value must be > 0")
    return sorted(set(values))


def _straggler(text: str | None) -> tuple[int, float] | None:
    if text is None:
        return None
    stage, _, factor = text.partition(":")
    try:
        parsed = int(stage), float(factor)
    except ValueError:
        raise UserError(f"--straggler {text!r}: expected STAGE:FACTOR, e.g. 1:1.5") from None
    if parsed[0] < 0 or not parsed[1] > 0:
        raise UserError(f"--straggler {text!r}: the stage must be >= 0 and the factor > 0")
    return parsed


def add_simulate_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "simulate",
        help="predict every regime at K stages from a measured run (scaling report)",
        description="Calibrate the pipeline simulator from a run directory's spans, check it "
        "against the run's measured throughput, and predict throughput, efficiency, idle and "
        "activation memory for K stages and m microbatches.",
    )
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="RUN_DIR")
    parser.add_argument(
        "--predict",
        type=Path,
        metavar="TARGET_RUN",
        help="out-of-sample check instead of the sweep: predict every benchmark of TARGET_RUN "
        "(with the straggler its config names) from --from's spans, against its measured "
        "throughput",
    )
    parser.add_argument("--stages", default=DEFAULT_STAGES, help=f"K values ({DEFAULT_STAGES})")
    parser.add_argument(
        "--microbatches", default=DEFAULT_MICROBATCHES, help=f"m values ({DEFAULT_MICROBATCHES})"
    )
    parser.add_argument("--modes", default=",".join(SIMULATED_MODES), help="modes to simulate")
    parser.add_argument(
        "--straggler",
        metavar="STAGE:FACTOR",
        help="slow one stage's forwards and backwards by FACTOR",
    )
    parser.add_argument(
        "--p-update", type=float, default=1.0, help="DNI update probability of unlocked stages (1)"
    )
    parser.add_argument(
        "--staleness", type=int, help="staleness bound of unlocked regimes (default: the run's)"
    )
    parser.add_argument(
        "--scaling",
        choices=SCALINGS,
        default="weak",
        help="weak: per-stage cost kept (default); strong: model split over K",
    )
    parser.add_argument(
        "--sg-relative",
        default=DEFAULT_SG_RELATIVE,
        help="extra SG costs (fraction of a measured stage's F+B) for the overtake map; "
        "the measured one is always included",
    )
    parser.add_argument(
        "--statistic",
        choices=STATISTICS,
        default="mean",
        help="span summary per kind (mean: expected step time)",
    )
    parser.add_argument(
        "--crossover-stages",
        default=CROSSOVER_STAGES,
        help=f"K values of the dni / zb crossover map ({CROSSOVER_STAGES}; empty: no map)",
    )
    parser.add_argument("--steps", type=int, default=5, help="simulated steps (5)")
    parser.add_argument("--warmup", type=int, default=2, help="of which warm-up (2)")
    parser.add_argument("--out", type=Path, help="output directory (default reports/simulate-RUN)")
    parser.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Validate the inputs, simulate, and write the output directory in one move."""
    if args.predict is not None:
        return cmd_crosscheck(args)
    started = time.perf_counter()
    source = Path(args.source)
    check_source(source)
    stages = _numbers(args.stages, "stages")
    microbatches = _numbers(args.microbatches, "microbatches")
    relatives = _numbers(args.sg_relative, "sg-relative", float) if args.sg_relative else []
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in SIMULATED_MODES:
            raise unknown_name("mode", mode, SIMULATED_MODES)
    straggler = _straggler(args.straggler)
    if straggler is not None and straggler[0] >= min(stages):
        raise UserError(
            f"--straggler stage {straggler[0]} is not a stage of the smallest "
            f"pipeline (K = {min(stages)}); use a stage below {min(stages)}"
        )
    if not 0 < args.p_update <= 1:
        raise UserError(f"--p-update {args.p_update}: must be in (0, 1]")
    if not 0 <= args.warmup < args.steps:
        raise UserError(f"--warmup {args.warmup} must be >= 0 and below --steps {args.steps}")
    out = args.out or Path("reports") / f"simulate-{source.resolve().name}"
    check_out(out)
    specs = load_specs(source)
    staleness = args.staleness
    if staleness is None:
        unlocked = [s for s in specs.values() if is_unlocked(s.get("mode"))]
        staleness = int(unlocked[0].get("staleness", 0)) if unlocked else 0
    if staleness < 0:
        raise UserError(f"--staleness {staleness}: must be >= 0")

    rows = validate_run(source, args.statistic)
    model = model_costs_from_run(source, args.statistic)
    settings = SweepSettings(
        scaling=args.scaling,
        straggler=straggler,
        p_update=args.p_update,
        staleness=staleness,
        steps=args.steps,
        warmup=args.warmup,
    )
    crossover_ks = (
        _numbers(args.crossover_stages, "crossover-stages") if args.crossover_stages else []
    )
    crossover = None
    if crossover_ks:
        draw, premise = zb_premise(rows)
        cells = crossover_map(model, crossover_ks, microbatches, settings) if draw else None
        crossover = (premise, cells)
    rels = (
        [None, *(r for r in relatives if r != model.sg_relative)] if DNI.name in modes else [None]
    )
    points = sweep(model, modes, stages, microbatches, settings, rels)
    if DNI.name in modes and ONE_F_ONE_B.name not in modes:
        points += sweep(model, [ONE_F_ONE_B.name], stages, microbatches, settings)

    from dnibench.simulate.report.provenance import Provenance
    from dnibench.simulate.report.writer import write_simulation

    flags = [
        "--from",
        str(source),
        "--stages",
        ",".join(map(str, stages)),
        "--microbatches",
        ",".join(map(str, microbatches)),
        "--modes",
        ",".join(modes),
        "--scaling",
        args.scaling,
        "--sg-relative",
        ",".join(f"{r:g}" for r in relatives),
        "--statistic",
        args.statistic,
        "--staleness",
        str(staleness),
        "--crossover-stages",
        ",".join(map(str, crossover_ks)),
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--out",
        str(out),
    ]
    if args.straggler:
        flags += ["--straggler", args.straggler]
    if args.p_update != 1:
        flags += ["--p-update", f"{args.p_update:g}"]
    command = "dnibench simulate " + shlex.join(flags)
    report = write_new_dir(
        out,
        lambda staging: write_simulation(
            staging,
            title=out.name,
            model=model,
            points=points,
            settings={
                **vars(settings),
                "modes": modes,
                "statistic": args.statistic,
                "source": str(source),
            },
            command=command,
            validation=rows,
            provenance=Provenance.collect([("calibration run", source)]),
            crossover=crossover,
            out_of_sample=out_of_sample_rows(source, args.statistic),
            refused=not_applicable(modes, stages, microbatches),
        ),
    )
    print(f"simulated {len(points)} configurations in {time.perf_counter() - started:.1f} s")
    print(f"report: {out / report.name}")
    return 0
