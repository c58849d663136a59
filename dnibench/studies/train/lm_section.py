"""The report section on a transformer language model trained as a pipeline.

Does DNI train a transformer pipeline? The ``train`` kind trains the ``gpt``
model on windows of a token corpus split into K stages under backprop, dni
and cdni (and complete unlock when a suite asks), next to the
*last-stage-only floor*: backprop with every stage but the last frozen at
its initial weights, the held-out loss the net reaches without training its
earlier stages. The groups are the feed-forward section's (data, model,
stages, with the same roles, :mod:`dnibench.studies.train.section`); only
the measure differs: the held-out next-token loss in nats per token, lower
is better, read against tokens seen.

Where a regime lands between floor and backprop is its *gap closed*, per
seed (the seeds share initialisation and data order across regimes)::

    gap closed = (floor loss - regime loss) / (floor loss - backprop loss)

0 is the floor (the earlier stages learnt nothing useful), 1 is backprop.
It is the feed-forward section's "share of backprop's gain" with the sign
of a loss, decided by the same paired order-statistic interval
(:func:`dnibench.stats.paired`). The premise of every verdict is that
backprop beats the floor by more than the paired seed spread (the whole
interval of the per-seed loss reduction above 0); where it fails the
verdicts read "not testable".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dnibench.modes import CDNI, DNI, UNLOCK
from dnibench.report.section import Section
from dnibench.report.tables import MISSING, fmt
from dnibench.report.verdict import Target
from dnibench.rundir.reader import raw_results, read_curves
from dnibench.stats import Paired, paired
from dnibench.studies.seeds import median, seed_values
from dnibench.studies.train.section import (
    BASELINE,
    CLOSE_SHARE,
    REGIME_ORDER,
    FFBench,
    by_seed,
    is_language_model,
    premise,
    train_benches,
)

#: The decoupled regimes whose gap closed the section reports, in order.
DECOUPLED = (DNI.regime.name, CDNI.regime.name, UNLOCK.regime.name)
_NAMES = {DNI.regime.name: "DNI", CDNI.regime.name: "cDNI", UNLOCK.regime.name: "complete unlock"}
_HINT_TRAINS = "a tuned sg_lr, a larger SG (sg_hidden, sg_rank) or a longer budget"
_HINT_CLOSE = "a larger SG (sg_hidden, sg_width, sg_rank), a tuned sg_lr, or fewer stages"
_HINT_CDNI = "more seeds (a tighter spread) or a longer budget"


def window(bench: FFBench) -> int:
    """Tokens per example (the window length L; the spec's ``input_shape``, default 64)."""
    shape = bench.spec.get("input_shape")
    if isinstance(shape, list) and len(shape) == 1 and isinstance(shape[0], int):
        return shape[0]
    return 64  # load_dataset's default window


def gap_closed(regime: np.ndarray, backprop: np.ndarray, floor: np.ndarray) -> Paired:
    """Per seed ``(floor - regime) / (floor - backprop)`` of final losses, paired by seed."""
    return paired(by_seed(floor - regime), by_seed(floor - backprop), relation="ratio")


def lm_targets(loss: dict[str, np.ndarray], label: str) -> list[Target]:
    """The verdicts of one group from final held-out losses per role (seeds as arrays).

    For each decoupled regime present: it beats the floor (gap closed above
    0) and it is close to backprop (gap closed at least :data:`CLOSE_SHARE`);
    with both DNI and cDNI, whether cDNI's loss is below DNI's per seed.
    """
    bp, floor = loss.get("backprop"), loss.get(BASELINE)
    if bp is None or floor is None:
        return []
    why = premise(-bp, -floor)  # the premise reads "higher is better": a loss negated
    targets: list[Target] = []
    for regime in DECOUPLED:
        if regime not in loss:
            continue
        closed = gap_closed(loss[regime], bp, floor)
        name = _NAMES[regime]
        prefix = f"{label}: {name} gap closed, (floor - {regime}) / (floor - backprop) per seed"
        targets.append(
            Target(
                f"{prefix} (goal: above 0, beats the floor)",
                closed.interval.estimate,
                0.0,
                ">",
                _HINT_TRAINS,
                ".2f",
                why,
                interval=closed.interval,
            )
        )
        targets.append(
            Target(
                f"{prefix} (goal: close to backprop)",
                closed.interval.estimate,
                CLOSE_SHARE,
                ">=",
                _HINT_CLOSE,
                ".2f",
                why,
                interval=closed.interval,
            )
        )
    dni, cdni = DNI.regime.name, CDNI.regime.name
    if dni in loss and cdni in loss:
        better = paired(by_seed(loss[cdni]), by_seed(loss[dni]), relation="difference")
        targets.append(
            Target(
                f"{label}: cDNI better than DNI: held-out loss, cdni minus dni per seed "
                "(goal: the whole interval below 0)",
                better.interval.estimate,
                0.0,
                "<",
                _HINT_CDNI,
                "+.4f",
                why,
                interval=better.interval,
            )
        )
    return targets


def _cell(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return MISSING
    text = fmt(float(np.median(finite)), ".4f")
    if finite.size > 1:
        text += f" ({fmt(float(finite.min()), '.4f')}-{fmt(float(finite.max()), '.4f')})"
    return text


def _curve_rows(curves: pd.DataFrame, bench: FFBench) -> tuple[list[int], dict[int, np.ndarray]]:
    """Samples at each evaluation, and the held-out loss per seed there."""
    frame = curves[curves["benchmark"] == bench.name]
    by_samples: dict[int, np.ndarray] = {}
    for samples, rows in frame.groupby("samples"):
        by_samples[int(samples)] = rows.sort_values("repeat")["test_loss"].to_numpy(dtype=float)
    return sorted(by_samples), by_samples


def _group_lines(
    group: tuple[str, str, int],
    benches: list[FFBench],
    results: pd.DataFrame,
    curves: pd.DataFrame,
) -> tuple[list[str], list[Target]]:
    data, model, stages = group
    order = (*REGIME_ORDER, BASELINE)
    ordered = sorted(benches, key=lambda b: order.index(b.role) if b.role in order else len(order))
    loss: dict[str, np.ndarray] = {}
    for bench in ordered:  # the first benchmark of a role stands for it
        if bench.role is not None and bench.role not in loss:
            loss[bench.role] = seed_values(results, bench.name, "test_loss")
    length = window(ordered[0])
    points = sorted({s for b in ordered for s in _curve_rows(curves, b)[0]})
    header = " | ".join(f"{s * length:,} tokens" for s in points)
    lines = [
        f"### {data}, {model}, {stages} stages",
        "",
        f"Held-out next-token loss (nats per token) against tokens seen (windows of {length} "
        "tokens). Cells: median (min-max) over seeds.",
        "",
        f"| regime | benchmark | seeds | {header} |",
        "|---|---|---:|" + "---:|" * len(points),
    ]
    for bench in ordered:
        at = _curve_rows(curves, bench)[1]
        cells = " | ".join(_cell(at.get(s, np.array([]))) for s in points)
        seeds = seed_values(results, bench.name, "test_loss").size
        lines.append(
            f"| {bench.role or bench.spec.get('mode')} | {bench.name} | {seeds} | {cells} |"
        )
    bp, floor = loss.get("backprop"), loss.get(BASELINE)
    if bp is not None and floor is not None:
        gain = paired(by_seed(floor), by_seed(bp), relation="difference")
        lines += [
            "",
            f"Backprop's loss reduction over the floor, floor minus backprop per seed: "
            f"{fmt(gain.interval.estimate, '+.4f')} [{fmt(gain.interval.low, '+.4f')}, "
            f"{fmt(gain.interval.high, '+.4f')}] (median [interval]; backprop median "
            f"{fmt(median(bp), '.4f')}, floor median {fmt(median(floor), '.4f')}).",
            "",
            "| regime | gap closed per seed | median [interval] |",
            "|---|---|---:|",
        ]
        for regime in DECOUPLED:
            if regime in loss:
                closed = gap_closed(loss[regime], bp, floor)
                per_seed = ", ".join(f"{fmt(v, '.2f')}" for v in closed.per_key.values())
                i = closed.interval
                lines.append(
                    f"| {regime} | {per_seed or MISSING} | {fmt(i.estimate, '.2f')} "
                    f"[{fmt(i.low, '.2f')}, {fmt(i.high, '.2f')}] |"
                )
    targets = lm_targets(loss, f"{data} {model} K={stages}")
    return [*lines, ""], targets


def _lm_parts(run_dir: Path) -> tuple[str, list[Target]] | None:
    benches = [b for b in train_benches(run_dir) if b.role is not None and is_language_model(b)]
    groups: dict[tuple[str, str, int], list[FFBench]] = {}
    for bench in benches:
        groups.setdefault(bench.group, []).append(bench)
    wanted = {k: v for k, v in groups.items() if {"backprop", BASELINE} <= {b.role for b in v}}
    results = raw_results(run_dir) if wanted else None
    if results is None:
        return None
    curves = read_curves(run_dir)
    lines = [
        "## Transformer language model: decoupled regimes between the floor and backprop",
        "",
        f"The floor ({BASELINE}) is backprop with every stage but the last frozen at its "
        "initial weights. Gap closed = (floor loss - regime loss) / (floor loss - backprop "
        "loss) per seed: 0 is the floor, 1 is backprop. Every comparison pairs the seeds "
        "(same initialisation and data order) and is decided by the order-statistic interval "
        "of the per-seed values (for 5 seeds [min, max], 93.75%): met when it lies wholly on "
        'the claimed side of the goal, inconclusive when it straddles it, and "not '
        'testable" when backprop does not beat the floor by more than the paired seed spread.',
        "",
    ]
    targets: list[Target] = []
    for group, members in wanted.items():
        group_lines, group_targets = _group_lines(group, members, results, curves)
        lines += group_lines
        targets += group_targets
    lines += [
        "### Transformer language model verdicts",
        "",
        "| target | measured | goal | verdict | missed by | what would change it |",
        "|---|---:|---:|---|---:|---|",
        *[target.row() for target in targets],
        "",
    ]
    return "\n".join(lines), targets


def lm_section(run_dir: Path) -> Section | None:
    """The section for :mod:`dnibench.studies.registry` (None: no language-model groups)."""
    found = _lm_parts(Path(run_dir))
    if found is None:
        return None
    markdown, targets = found
    return Section(markdown, verdicts=tuple(t.record("train") for t in targets))


__all__ = ["DECOUPLED", "gap_closed", "lm_section", "lm_targets", "window"]
