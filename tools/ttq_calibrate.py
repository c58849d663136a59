"""Choose each workload's time-to-quality target on the calibration seeds (the ttq suite's
calibration command).

For every workload of the suite, runs its 1f1b benchmark on the calibration
seeds 100-102 (on the pipeline, with evaluation) and the last-stage-only
floor on the reference runtime, and prints the values the suite records
(``calibration_best``, ``floor_best``) with the two checks of a fair target
(the floor does not reach it; 1f1b reaches it after at least 25% of the
budget). See dnibench/studies/ttq/calibrate.py.

Usage: python tools/ttq_calibrate.py [SUITE] [--profile NAME] [--workload NAME]
(SUITE defaults to ttq; --workload calibrates one workload only)
"""

from __future__ import annotations

import argparse
import sys

from dnibench.modes import ONE_F_ONE_B
from dnibench.stats import CALIBRATION_SEEDS
from dnibench.studies.ttq.calibrate import calibrate
from dnibench.studies.ttq.keys import TTQ, TTQConfig
from dnibench.suites.rewrites import load_suite_profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default="ttq")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--workload", default=None, help="calibrate this workload only")
    args = parser.parse_args(argv)
    suite = load_suite_profile(args.suite, args.profile)
    done: set[str] = set()
    unfit = False
    for item in suite.items:
        config = item.config
        if item.kind != TTQ or not isinstance(config, TTQConfig) or config.workload in done:
            continue
        if config.spec.mode != ONE_F_ONE_B.name or item.spec is None:
            continue
        if args.workload is not None and config.workload != args.workload:
            continue
        done.add(config.workload)
        spec = item.spec.with_(name=f"calibrate-{item.name}")
        got = calibrate(spec, CALIBRATION_SEEDS, config.held_out)
        print(f"# {config.workload}: calibration seeds {list(CALIBRATION_SEEDS)}")
        print(f"#   1f1b best held-out accuracy per seed: {got.best}")
        print(f"#   floor (last stage only) best per seed: {got.floor_best}")
        print(f"#   1f1b reaches the target after {got.reach_share} of the budget")
        print(f"calibration_best = {got.calibration_best:.4f}")
        print(f"floor_best = {got.floor:.4f}")
        print(f"# target = {got.target:.4f}; problems: {got.problems or 'none'}")
        unfit = unfit or bool(got.problems)
    if not done:
        print("no ttq workload with a 1f1b benchmark in this suite", file=sys.stderr)
        return 2
    return 1 if unfit else 0


if __name__ == "__main__":
    sys.exit(main())
