"""``dnibench simulate --from BASELINE --predict TARGET``: the out-of-sample check.

Calibrates from the baseline run, applies the target run's straggler,
simulates, and writes a small run directory comparing with the target's
measured throughput (:mod:`dnibench.simulate.crosscheck`,
:mod:`dnibench.simulate.report.crosscheck_writer`). Bad input
(a missing run directory, runs with no benchmark in common, sweep options
that do not apply, an output directory that already holds files) is a
UserError: exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from dnibench.cli.simulate_output import (
    DEFAULT_MICROBATCHES,
    DEFAULT_SG_RELATIVE,
    DEFAULT_STAGES,
    check_out,
    check_source,
    write_new_dir,
)
from dnibench.errors import UserError
from dnibench.modes import SIMULATED_MODES
from dnibench.report.verdict import Verdict
from dnibench.simulate.crosscheck import crosscheck_runs, target_straggler
from dnibench.simulate.report.crosscheck_writer import write_crosscheck
from dnibench.simulate.report.provenance import Provenance
from dnibench.simulate.validate import load_specs

__all__ = ["cmd_crosscheck"]

#: Sweep options and their defaults: with --predict, the target run fixes all of them.
_SWEEP_DEFAULTS = {
    "stages": DEFAULT_STAGES,
    "microbatches": DEFAULT_MICROBATCHES,
    "modes": ",".join(SIMULATED_MODES),
    "straggler": None,
    "p_update": 1.0,
    "staleness": None,
    "scaling": "weak",
    "sg_relative": DEFAULT_SG_RELATIVE,
    "steps": 5,
    "warmup": 2,
}


def _check_no_sweep_options(args: argparse.Namespace) -> None:
    given = [k for k, default in _SWEEP_DEFAULTS.items() if getattr(args, k, default) != default]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise UserError(
            f"{flags}: not used with --predict, which simulates each target benchmark's own "
            "spec and takes the straggler from the target run's config; drop them"
        )


def cmd_crosscheck(args: argparse.Namespace) -> int:
    """Check the inputs, compare, and write the output directory in one move."""
    baseline, target = Path(args.source), Path(args.predict)
    check_source(baseline)
    if not target.is_dir():
        raise UserError(
            f"--predict {target}: no such run directory; point at a `dnibench run` output"
        )
    _check_no_sweep_options(args)
    out = args.out or Path("reports") / f"crosscheck-{target.resolve().name}"
    check_out(out)
    rows = crosscheck_runs(baseline, target, args.statistic)
    compared = [r for r in rows if not r.skipped]
    if not compared:
        reasons = "; ".join(f"{r.benchmark}: {r.skipped}" for r in rows[:4])
        raise UserError(
            f"no benchmark of {target} could be predicted from {baseline} ({reasons}); "
            "use a baseline run of the same suite with spans on"
        )
    stragglers = target_straggler(load_specs(target))
    flags = ["--from", str(baseline), "--predict", str(target)]
    if args.statistic != "mean":
        flags += ["--statistic", args.statistic]
    command = "dnibench simulate " + shlex.join([*flags, "--out", str(out)])
    report = write_new_dir(
        out,
        lambda staging: write_crosscheck(
            staging,
            title=out.name,
            baseline=baseline,
            target=target,
            rows=rows,
            stragglers=stragglers,
            settings={"statistic": args.statistic},
            command=command,
            provenance=Provenance.collect(
                [("calibration run (baseline)", baseline), ("target run (measured)", target)]
            ),
        ),
    )
    if not any(s.active for s in stragglers):
        print(f"note: {target} has no straggler; this compares two runs of the same benchmarks")
    within = sum(r.verdict == Verdict.MET for r in compared)
    print(
        f"{within} of {len(compared)} benchmarks within target; {len(rows) - len(compared)} skipped"
    )
    print(f"report: {out / report.name}")
    return 0
