"""False-alarm and detection rates of `dnibench check`, from gate studies on disk.

`tools/gate_study.sh OUT N` leaves N+1 plain runs and N slowed runs of the
`gate` suite in OUT. This script re-evaluates their pairs offline (A/A pair i:
plain-i against plain-(i+1); slowed pair i: plain-i against slow-i) for a grid
of significance levels and thresholds, for the absolute gate, the same-run
ratio gate (`--ratios-only`) and both together (`dnibench check`'s default),
so alpha and threshold are chosen from measured rates.

Several study directories can be given: run i of each is merged into one run
with more launches (repeats renumbered), to learn what more launches per side
buy without re-measuring the launches already taken.

Usage: python tools/gate_rates.py STUDY_DIR [STUDY_DIR ...] [--alphas 0.01,0.05]
       [--thresholds 0.05,0.10] [--launches N] [--plot PNG]

``--plot`` draws every launch's throughput (plain against slowed runs, per
benchmark and study), so the launch-to-launch spread the gate works against
is visible next to the effect it must find.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from dnibench.gate import check_runs
from dnibench.gate.check import RatioSpec
from dnibench.rundir.layout import CONFIG, RESULTS
from dnibench.rundir.reader import read_config, read_results


def merge_runs(sources: list[Path], out: Path, launches: int | None) -> Path:
    """One run directory holding every launch of ``sources`` (at most ``launches`` of each)."""
    out.mkdir(parents=True)
    frames = []
    offset = 0
    for source in sources:
        frame = read_results(source)
        frame = frame[frame.benchmark != "calibration"]
        if launches is not None:
            frame = frame[frame.repeat < launches]
        frame = frame.assign(repeat=frame.repeat + offset)
        offset = int(frame.repeat.max()) + 1
        frames.append(frame)
    pd.concat(frames).to_csv(out / RESULTS, index=False)
    shutil.copy(sources[0] / CONFIG, out / CONFIG)
    return out


def ratios_of(run: Path) -> list[RatioSpec]:
    """The same-run ratios a run's suite declared (its config)."""
    ratios = read_config(run).ratios
    return [RatioSpec(r.name, r.numerator, r.denominator, r.metric) for r in ratios]


def evaluate(
    studies: list[Path], alphas: list[float], thresholds: list[float], launches: int | None
) -> pd.DataFrame:
    """One row per (pair kind, gate, alpha, threshold): flagged pairs out of all pairs."""
    count = len(list(studies[0].glob("slow-*[0-9]")))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)

        def run(name: str) -> Path:
            merged = root / name
            if not merged.exists():
                merge_runs([study / name for study in studies], merged, launches)
            return merged

        ratios = ratios_of(studies[0] / "plain-0")
        for i in range(count):
            base = run(f"plain-{i}")
            pairs = {"aa": run(f"plain-{i + 1}"), "slowed": run(f"slow-{i}")}
            for kind, current in pairs.items():
                for alpha in alphas:
                    for threshold in thresholds:
                        gates = {
                            "absolute": (True, []),
                            "ratios": (False, ratios),
                            "full": (True, ratios),  # what `dnibench check` does by default
                        }
                        for gate, (absolute, gated) in gates.items():
                            limits = {"throughput": threshold}
                            limits.update({ratio.name: threshold for ratio in gated})
                            report = check_runs(
                                base,
                                current,
                                alpha=alpha,
                                thresholds=limits,
                                absolute=absolute,
                                ratios=gated,
                            )
                            rows.append(
                                {"pair": i, "kind": kind, "gate": gate, "alpha": alpha,
                                 "threshold": threshold, "flagged": report.failed}
                            )  # fmt: skip
    frame = pd.DataFrame(rows)
    return (
        frame.groupby(["kind", "gate", "alpha", "threshold"])
        .flagged.agg(flagged="sum", pairs="count")
        .reset_index()
    )


def plot_launches(studies: list[Path], path: Path) -> None:
    """Per-launch throughput of every plain and slowed run, one panel per benchmark."""
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    frames = []
    for study in studies:
        for run in sorted(p for p in study.iterdir() if (p / "results.csv").is_file()):
            frame = read_results(run)
            frame = frame[(frame.metric == "throughput") & (frame.stage == -1)]
            kind = "slowed 1.2x" if run.name.startswith("slow") else "plain"
            frames.append(frame.assign(study=study.name, run=run.name, kind=kind))
    data = pd.concat(frames, ignore_index=True)
    grid = sns.catplot(
        data=data, x="study", y="value", hue="kind", col="benchmark", kind="strip",
        dodge=True, alpha=0.5, height=3.5, aspect=1.1, sharey=False,
    )  # fmt: skip
    grid.set_axis_labels("study", "throughput per launch (samples/s)")
    grid.figure.suptitle("Every launch of the gate studies: the noise the gate must see through")
    grid.figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", type=Path)
    parser.add_argument("--alphas", default="0.01,0.05")
    parser.add_argument("--thresholds", default="0.05,0.10")
    parser.add_argument("--launches", type=int, help="use only the first N launches of each run")
    parser.add_argument("--plot", type=Path, help="also draw every launch's throughput here")
    args = parser.parse_args()
    if args.plot is not None:
        plot_launches(args.studies, args.plot)
    alphas = [float(a) for a in args.alphas.split(",")]
    thresholds = [float(t) for t in args.thresholds.split(",")]
    table = evaluate(args.studies, alphas, thresholds, args.launches)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
