"""Suite commands: ``run``, ``list``, ``report``, ``compare`` and ``check``.

``run`` is the main job: it expands suites from ``suites/*.toml``, runs every
benchmark into a run directory (results kept as each one lands), then writes
the pytest-benchmark export, the reports (Markdown and HTML) and the plots.
``check`` is the CI gate: exit 0 pass, 1 regression, 2 usage error; ``run``
exits 3 when a benchmark failed (:mod:`dnibench.cli.exit_codes`).
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import os
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dnibench.cli.exit_codes import EXIT_CODES, EXIT_FAILED, EXIT_REGRESSION, interrupted_status
from dnibench.cli.signals import stops_on_signals
from dnibench.errors import UserError

if TYPE_CHECKING:
    pass
SLOW_FACTOR = 1.2  # --slow-factor when only --slow-stage is given


def add_suite_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="run suites (default: quick) into a run directory and report them",
        description="Run one or more suites from suites/*.toml (default: quick) and write a "
        "report. Results are written as each benchmark ends.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("suites", nargs="*", default=["quick"], metavar="SUITE")
    run.add_argument("--out", type=Path, help="run directory (default: reports/SUITE-MACHINE-DATE)")
    run.add_argument(
        "--only",
        help="globs on benchmark names, comma-separated, e.g. 'dni-*' or 'gpipe-*,1f1b-*'",
    )
    run.add_argument("--repeats", type=int, help="override every benchmark's repeat count")
    run.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even when a benchmark failed (default: exit 3 after writing the report)",
    )
    run.add_argument("--profile", help="apply the suite's [profile.NAME] overrides, e.g. cpu")
    run.add_argument("--fault", help="NAME=KIND:STAGE:STEP: make one benchmark fail (rehearsals)")
    run.add_argument("--slow-stage", type=int, help="make this stage of every pipeline slow")
    run.add_argument(
        "--slow-factor",
        type=float,
        help=f"with --slow-stage: its forwards and backwards take this many times as long "
        f"(default {SLOW_FACTOR})",
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        help="Penn Treebank folder for every rnn benchmark (ptb.char.{train,valid,test}.txt; "
        "default: $DNIBENCH_PTB_DIR where a suite asks for ptb)",
    )
    run.add_argument(
        "--text-path",
        type=Path,
        help="a plain text file for every rnn benchmark and gpt pipeline "
        "(90%% train, 5%% valid, 5%% test)",
    )
    run.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="run this many one-thread rnn/copy runs side by side (seconds stay per-run CPU time)",
    )
    run.add_argument("--all-traces", action="store_true", help="keep every launch's trace")
    run.set_defaults(handler=cmd_run)

    listing = commands.add_parser("list", help="list the suites and their benchmarks")
    listing.add_argument("--verbose", "-v", action="store_true", help="also list benchmarks")
    listing.set_defaults(handler=cmd_list)

    report = commands.add_parser("report", help="(re)write report.md/html and plots of a run")
    report.add_argument("run_dir", type=Path)
    report.set_defaults(handler=cmd_report)

    compare = commands.add_parser("compare", help="put two or more runs side by side")
    compare.add_argument("run_dirs", type=Path, nargs="+")
    compare.add_argument("--out", type=Path, help="output directory (default: reports/compare-…)")
    compare.set_defaults(handler=cmd_compare)

    check = commands.add_parser(
        "check",
        help="fail on a statistically significant regression (exit 1)",
        description="Compare a current run with a baseline run: Mann-Whitney U on repeated "
        "samples plus a relative threshold per metric, and the same-run ratios the suite "
        "declares. Exit 0 pass, 1 regression, 2 usage error, unreadable data or no "
        "comparison with enough data to decide.",
    )
    check.add_argument("--baseline", type=Path, required=True)
    check.add_argument("--current", type=Path, required=True)
    check.add_argument("--threshold", type=float, default=0.10, help="relative change (0.10)")
    check.add_argument("--alpha", type=float, default=0.01, help="significance level")
    check.add_argument("--metric", action="append", help="metric to gate (default throughput)")
    check.add_argument(
        "--ratios-only",
        action="store_true",
        help="gate only same-run ratios (machine-independent: baseline from another machine)",
    )
    check.add_argument(
        "--samples",
        choices=("repeats", "windows"),
        default="repeats",
        help="one sample per repeat (default; launches are the unit of replication) or per "
        "step window (more power, valid only when windows are independent)",
    )
    check.set_defaults(handler=cmd_check)


def _machine_tag() -> str:
    return os.environ.get("DNIBENCH_MACHINE") or f"cpu{os.cpu_count()}"


def default_run_dir(label: str) -> Path:
    base = Path("reports") / f"{label}-{_machine_tag()}-{datetime.date.today().isoformat()}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _progress(total: int):
    from dnibench.studies.registry import benchmark_kind

    done = 0
    started = time.perf_counter()
    said_nvml = False

    def report(item: Any, result: Any, message: str) -> None:
        nonlocal done, said_nvml
        done += 1
        kind = benchmark_kind(item.kind)
        if result is not None and kind.pipeline and not said_nvml:
            note = result.nvml_note()
            print(f"GPU telemetry: {'NVML sampled' if not note else 'none (' + note + ')'}")
            said_nvml = True
        elapsed = time.perf_counter() - started
        left = elapsed / done * (total - done)
        head = f"[{done}/{total} {elapsed:5.0f} s, ~{left:.0f} s left] {item.name:<24}"
        if result is None and message.startswith("not_applicable"):
            print(f"{head} not applicable here: {message.split(': ', 1)[-1]}", flush=True)
        elif result is None:
            print(f"{head} FAILED: {message}", flush=True)
        else:
            print(f"{head} {kind.progress(result)}", flush=True)

    return report


def finish_run(run_dir: Path, title: str, command: str) -> tuple[Path, Path]:
    """Write pytest-benchmark.json and the reports of a (possibly partial) run."""
    from dnibench.export import write_pytest_benchmark_json
    from dnibench.report import write_reports
    from dnibench.studies.registry import extra_sections, report_hooks

    write_pytest_benchmark_json(run_dir)
    sections = extra_sections(run_dir)
    extra = "\n".join(section.markdown for section in sections)
    plots = {name: path for section in sections for name, path in section.plots.items()}
    return write_reports(
        run_dir,
        title=title,
        command=command,
        extra_markdown=extra,
        extra_plots=plots,
        hooks=report_hooks(),
        verdicts=[record for section in sections for record in section.verdicts],
    )


def _write_report(run_dir: Path, title: str, command: str) -> int:
    """finish_run, saying what to do when it cannot finish (a full disk, a second Ctrl-C).

    0 when written, else the exit status it calls for: 130 after Ctrl-C (143 after
    SIGTERM, 129 after SIGHUP), 3 otherwise.
    """
    from dnibench.bench.session import failure_line

    again = f"write it later with `dnibench report {shlex.quote(str(run_dir))}`"
    try:
        markdown, html = finish_run(run_dir, title, command)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM / SIGHUP (exit 130, 143, 129)
        print(f"\ninterrupted while writing the report: results are kept; {again}",
              file=sys.stderr)  # fmt: skip
        return interrupted_status(stop)
    except UserError:  # a planted link, say: refused with its own message (exit 2)
        raise
    except Exception as err:  # results are kept whatever broke the report
        print(f"dnibench: the report was not written ({failure_line(err)}); results are kept; "
              f"{again}", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    print(f"report: {html}\n        {markdown}")
    return 0


@stops_on_signals  # SIGTERM and SIGHUP stop the run as Ctrl-C does: exit 143, 129
def cmd_run(args: argparse.Namespace) -> int:
    from dnibench.bench.session import DiskFull, run_session
    from dnibench.suites.options import check_applies, check_out, check_repeats
    from dnibench.suites.rewrites import (
        load_suite_profile,
        with_data,
        with_fault,
        with_slow_stage,
    )

    suites = [load_suite_profile(name, args.profile) for name in args.suites]
    items = [item for suite in suites for item in suite.items]
    if args.only:
        patterns = [part.strip() for part in args.only.split(",") if part.strip()]
        items = [item for item in items if any(fnmatch.fnmatch(item.name, p) for p in patterns)]
        if not items:
            raise UserError(
                f"--only {args.only!r} matches no benchmark of {', '.join(args.suites)}"
            )
    check_repeats(items, args.repeats)
    if args.slow_stage is not None:
        factor = SLOW_FACTOR if args.slow_factor is None else args.slow_factor
        items = with_slow_stage(items, args.slow_stage, factor)
    elif args.slow_factor is not None:
        raise UserError("--slow-factor says how much --slow-stage slows its stage: give both")
    if args.fault:
        items = with_fault(items, args.fault)
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    items = with_data(items, args.data_dir, args.text_path)
    check_applies(items, args.jobs, args.all_traces, args.repeats)
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise UserError("two suites define benchmarks of the same name; run them separately")
    label = "+".join(suite.name for suite in suites)
    out = args.out or default_run_dir(label)
    check_out(out)
    ratios = [asdict(ratio) for suite in suites for ratio in suite.ratios]
    total = sum((args.repeats or item.repeats) for item in items)
    print(f"running {total} benchmark run(s) of {label} into {out}", flush=True)
    command = "dnibench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        run_session(
            items,
            out,
            repeats=args.repeats,
            on_result=_progress(total),
            jobs=args.jobs,
            keep_all_traces=args.all_traces,
            extra_config={
                "suites": [s.name for s in suites],
                "ratios": ratios,
                "command": command,
                "only": [p.strip() for p in (args.only or "").split(",") if p.strip()],
            },
        )
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted: results so far are kept in {out}", file=sys.stderr)
        from dnibench.rundir.reader import has_results

        if has_results(out):
            _write_report(out, f"dnibench {label} (interrupted)", command)
        return interrupted_status(stop)
    except DiskFull as full:
        print(f"dnibench: {full}; exit 3", file=sys.stderr)
        from dnibench.rundir.reader import has_results

        if has_results(out):
            _write_report(out, f"dnibench {label}: {out.name} (disk full)", command)
        return EXIT_FAILED
    unwritten = _write_report(out, f"dnibench {label}: {out.name}", command)
    return unwritten or _exit_status(out, args.allow_failures)


def _exit_status(out: Path, allow_failures: bool) -> int:
    """0, or 3 when a benchmark failed (a CI job must see it) unless failures are allowed."""
    from dnibench.bench.session import failed_benchmarks
    from dnibench.rundir.layout import STATUS

    failed = sorted(set(failed_benchmarks(out)))
    if not failed:
        return 0
    where = f"see {out / STATUS}"
    if allow_failures:
        print(f"{len(failed)} benchmark(s) failed ({where}); --allow-failures: exit 0")
        return 0
    print(f"dnibench: {len(failed)} benchmark(s) failed: {', '.join(failed)} ({where}); "
          "exit 3 (--allow-failures exits 0)", file=sys.stderr)  # fmt: skip
    return EXIT_FAILED


def cmd_list(args: argparse.Namespace) -> int:
    from dnibench.cli.exit_codes import EXIT_USAGE
    from dnibench.suites import suite_origin, survey_suites

    suites, errors = survey_suites()
    for suite in suites:
        runs = sum(item.repeats for item in suite.items)
        size = f"{len(suite.items):>3} benchmarks, {runs:>3} runs"
        print(f"{suite.name:<10} {size}  {suite_origin(suite.path):<9} {suite.description}")
        if args.verbose:
            for item in suite.items:
                print(f"    {item.name:<28} {item.kind:<8} x{item.repeats}")
    for error in errors:  # after the others: one broken file hides none of them
        print(f"dnibench: broken suite: {error}", file=sys.stderr)
    return EXIT_USAGE if errors else 0


def cmd_report(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    from dnibench.rundir.reader import read_config, require_benchmark_run

    require_benchmark_run(run_dir)
    config = read_config(run_dir)
    command = config.command or f"dnibench report {run_dir}"
    label = "+".join(config.suites) or "run"
    markdown, html = finish_run(run_dir, f"dnibench {label}: {run_dir.name}", command)
    print(f"report: {html}\n        {markdown}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from dnibench.report import compare_runs

    if len(args.run_dirs) < 2:
        raise UserError("compare needs at least two run directories")
    out = args.out or default_run_dir("compare")
    markdown, html = compare_runs(list(args.run_dirs), out)
    print(f"comparison: {html}\n            {markdown}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from dnibench.cli.exit_codes import EXIT_USAGE
    from dnibench.gate import RatioSpec, check_runs
    from dnibench.rundir.reader import read_ratios

    for path in (args.baseline, args.current):
        if not path.is_dir():
            raise UserError(f"{path} is not a run directory")
    if not 0 < args.alpha < 1 or args.threshold < 0:
        raise UserError("--alpha must be in (0, 1) and --threshold >= 0")
    metrics = tuple(args.metric or ["throughput"])
    thresholds = dict.fromkeys(metrics, args.threshold)
    declared = [read_ratios(args.current), read_ratios(args.baseline)]  # both validated
    ratios = [
        RatioSpec(r.name, r.numerator, r.denominator, r.metric) for r in declared[0] or declared[1]
    ]
    for ratio in ratios:
        thresholds[ratio.name] = args.threshold
    report = check_runs(
        args.baseline,
        args.current,
        thresholds=thresholds,
        alpha=args.alpha,
        metrics=metrics,
        ratios=ratios,
        absolute=not args.ratios_only,
        unit=args.samples,
    )
    print(report.table())
    if report.failed:
        print("check: REGRESSION", file=sys.stderr)
        return EXIT_REGRESSION
    if report.inconclusive:
        print("check: no comparison had enough data, so nothing was gated (exit 2): record "
              "more repeats on both sides (see the detail column), or check the runs' --only",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    print("check: pass")
    return 0
