"""``dnibench train``: train one configuration per regime and print the learning curves.

Flags are checked by argparse types (a whole number, a number > 0, a regime
name), so a malformed value is a usage error before anything loads.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from dnibench.cli.signals import stops_on_signals
from dnibench.data import DATA_NAMES
from dnibench.errors import UserError, unknown_name
from dnibench.models import MODEL_NAMES
from dnibench.modes import TRAIN_MODES, regime_names
from dnibench.optim import OPTIMIZER_NAMES, OptimConfig
from dnibench.pipeline import PipelineConfig
from dnibench.regimes.synthetic_gradient import SGConfig
from dnibench.regimes.synthetic_input import SIConfig

if TYPE_CHECKING:
    from dnibench.data import Dataset
    from dnibench.train import TrainResult


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    return value


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value}")
    return value


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 1,2,1; got {text!r}"
        ) from None


def _modes(text: str) -> list[str]:
    modes = [part.strip() for part in text.split(",") if part.strip()]
    if not modes:
        raise argparse.ArgumentTypeError("expected at least one mode")
    for mode in modes:
        if mode not in TRAIN_MODES:
            raise argparse.ArgumentTypeError(str(unknown_name("mode", mode, TRAIN_MODES)))
    return modes


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is torch (or Python) failing to allocate, not a bug."""
    text = str(error).lower()
    return isinstance(error, MemoryError) or "allocate" in text or "out of memory" in text


def _memory_message(args: argparse.Namespace, error: BaseException) -> str:
    """The model that did not fit, named by its size flags, and the first line of why."""
    width = "the default width" if args.width is None else f"--width {args.width}"
    cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
    cause = cause.split("DefaultCPUAllocator: ")[-1]
    return (
        f"the {args.model} model at {width} ({args.stages} stages, --batch-size "
        f"{args.batch_size}) does not fit in memory: {cause}. Use a smaller --width"
    )


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train one configuration per mode and print learning curves",
        description=(
            "Train a stage-split model on the single-process reference runtime under one or "
            "more regimes, print each learning curve and a side-by-side summary. With no "
            "options it compares every regime on scikit-learn's digits (no files needed)."
        ),
    )
    parser.add_argument("--model", default="mlp", help=f"one of {', '.join(MODEL_NAMES)}")
    parser.add_argument("--data", default="digits", help=f"one of {', '.join(DATA_NAMES)}")
    parser.add_argument("--data-dir", type=Path, help="directory of MNIST IDX or CIFAR-10 files")
    parser.add_argument(
        "--mode",
        type=_modes,
        default=list(regime_names()),
        help=f"comma-separated regimes or asynchronous modes from {', '.join(TRAIN_MODES)} "
        "(default: every regime)",
    )
    parser.add_argument("--stages", type=_positive_int, default=3)
    parser.add_argument("--balance", type=_int_list, help="blocks per stage, e.g. 1,1,2")
    parser.add_argument("--width", type=_positive_int, help="hidden units or channels per layer")
    parser.add_argument("--depth", type=int, help="hidden layers (the classifier adds one block)")
    parser.add_argument("--steps", type=_positive_int, default=600)
    parser.add_argument("--batch-size", type=_positive_int, default=64)
    parser.add_argument("--microbatches", type=_positive_int, default=1)
    parser.add_argument("--eval-every", type=_positive_int, default=100)
    parser.add_argument("--optimizer", default="adam", choices=OPTIMIZER_NAMES)
    parser.add_argument("--lr", type=_positive_float, default=1e-3)
    parser.add_argument("--sg-hidden", type=int, default=0, choices=(0, 1, 2))
    parser.add_argument("--sg-width", type=_positive_int, help="SG width; low-rank if no hidden")
    parser.add_argument("--sg-lr", type=_positive_float, default=1e-3)
    parser.add_argument("--sg-scale", type=_scale, default=1.0)
    parser.add_argument("--si-hidden", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--si-width", type=_positive_int, default=256)
    parser.add_argument("--si-lr", type=_positive_float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the curves to this JSON file")
    parser.set_defaults(handler=run_train)


@stops_on_signals  # SIGTERM and SIGHUP stop it as Ctrl-C does: exit 143, 129
def run_train(args: argparse.Namespace) -> int:
    """``dnibench train``: one run per mode, then a summary table.

    Ctrl-C, SIGTERM or SIGHUP stop the mode in training; the modes already
    trained are kept: their summary is printed (and ``--json`` written) before
    the command exits 130, 143 or 129.
    """
    from dnibench.data import load_dataset

    pipeline = PipelineConfig(
        model=args.model,
        width=args.width,
        depth=args.depth,
        stages=args.stages,
        balance=args.balance,
        optim=OptimConfig(name=args.optimizer, lr=args.lr),
        sg=SGConfig(hidden=args.sg_hidden, width=args.sg_width, lr=args.sg_lr, scale=args.sg_scale),
        si=SIConfig(hidden=args.si_hidden, width=args.si_width, lr=args.si_lr),
        seed=args.seed,
    )
    if args.model not in MODEL_NAMES:
        raise unknown_name("model", args.model, MODEL_NAMES)
    dataset = load_dataset(args.data, data_dir=args.data_dir, seed=args.seed)
    if args.batch_size > len(dataset.x_train):
        raise UserError(
            f"--batch-size {args.batch_size} exceeds the {len(dataset.x_train)} training "
            f"examples of {args.data}; use a smaller batch"
        )
    if args.microbatches > args.batch_size:
        raise UserError(
            f"--microbatches {args.microbatches} exceeds --batch-size {args.batch_size}; "
            "each microbatch needs at least one example"
        )
    results: list[TrainResult] = []
    try:
        _train_modes(args, pipeline, dataset, results)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(results)} of {len(args.mode)} mode(s) trained", flush=True)
        _summary(args, results)
        raise
    _summary(args, results)
    return 0


def _train_modes(
    args: argparse.Namespace, pipeline: PipelineConfig, dataset: Dataset, results: list[TrainResult]
) -> None:
    """Train every mode in turn, appending each finished run to ``results``."""
    from dnibench.train import CURVE_HEADER, TrainConfig, train

    for mode in args.mode:
        config = TrainConfig(
            data=args.data,
            mode=mode,
            pipeline=pipeline,
            batch_size=args.batch_size,
            microbatches=args.microbatches,
            steps=args.steps,
            eval_every=args.eval_every,
            data_dir=args.data_dir,
        )
        print(f"\n== {args.model} on {args.data}, mode {mode}, {args.stages} stages ==", flush=True)
        print(CURVE_HEADER, flush=True)
        try:
            result = train(config, dataset, verbose=True)
        except (MemoryError, RuntimeError) as error:
            if not _out_of_memory(error):
                raise
            raise UserError(_memory_message(args, error)) from None
        print(f"balance {result.balance}; final test accuracy {result.final.test_accuracy:.4f}")
        results.append(result)


def _summary(args: argparse.Namespace, results: list[TrainResult]) -> None:
    """The side-by-side table of the trained modes, and their curves in ``--json``."""
    if not results:
        return
    print("\nsummary")
    print(f"{'mode':<10} {'test_acc':>8} {'test_loss':>9} {'seconds':>8} {'samples':>8}")
    for result in results:
        point = result.final
        print(
            f"{result.config.mode:<10} {point.test_accuracy:>8.4f} {point.test_loss:>9.4f} "
            f"{point.seconds:>8.2f} {point.samples:>8}"
        )
    if args.json is not None:
        payload = [
            {"mode": r.config.mode, "balance": r.balance, "curve": [asdict(p) for p in r.curve]}
            for r in results
        ]
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"curves written to {args.json}")
