"""The ``dnibench`` command line: one sub-command per job, each in its own module.

- :mod:`train`: ``dnibench train`` (curves on the reference runtime);
- :mod:`bench`: ``dnibench bench`` (one pipeline benchmark, also under torchrun);
- :mod:`suites`: ``run``, ``list``, ``report``, ``compare`` and ``check``;
- :mod:`simulate` with :mod:`crosscheck` and :mod:`simulate_output`: ``dnibench simulate``;
- :mod:`suite_benchmarks`: a suite under pytest-benchmark (``pytest --pyargs``);
- :mod:`exit_codes`: the exit statuses every command shares.

User mistakes (unknown names, impossible splits, missing or malformed data
files) print one clear message and exit with status 2, without a traceback;
argparse does the same for malformed flags. The exit statuses (0, 1, 2, 3,
129, 130, 143) are listed in ``--help`` (:data:`dnibench.cli.exit_codes.EXIT_CODES`).
Sub-command modules are imported when the parser is built, so importing this
package (the ``dnibench.cli:main`` entry point) stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dnibench.cli.exit_codes import EXIT_CODES, EXIT_USAGE, interrupted_status
from dnibench.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per job."""
    from dnibench.cli.bench import add_bench_parser
    from dnibench.cli.simulate import add_simulate_parser
    from dnibench.cli.suites import add_suite_commands
    from dnibench.cli.train import add_train_parser

    parser = argparse.ArgumentParser(
        prog="dnibench",
        description="Benchmark pipeline-parallel training under backprop, DNI and complete unlock.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_train_parser(commands)
    add_bench_parser(commands)
    add_suite_commands(commands)
    add_simulate_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except UserError as err:
        print(f"dnibench: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as stop:
        print("dnibench: interrupted", file=sys.stderr)
        return interrupted_status(stop)


__all__ = ["build_parser", "main"]
