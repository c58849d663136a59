"""Run figures: each is a real PNG when the run has data for it, and absent otherwise."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from dnibench.report import load_run
from dnibench.report.plots import (
    PLOT_NAMES,
    idle_frame,
    make_plots,
    plot_learning_curves,
    plot_lock_idle,
    plot_memory,
    plot_throughput,
)
from dnibench.studies.pipeline.timeline import (
    choose_benchmarks,
    load_trace,
    plot_timeline,
    steady_window,
)
from dnibench.studies.registry import report_hooks


def test_every_figure_is_a_png_in_run_plots(
    make_run: Callable[..., Path], png_ok: Callable[[Path], bool]
) -> None:
    run_dir = make_run()
    plots = make_plots(load_run(run_dir), hooks=report_hooks())
    assert list(plots) == list(PLOT_NAMES)
    for name, path in plots.items():
        assert path == run_dir / "plots" / f"{name}.png"
        assert png_ok(path), name


def test_pipeline_only_run_has_no_learning_curves(make_run: Callable[..., Path]) -> None:
    run = load_run(make_run(trainings=()))
    assert plot_learning_curves(run) is None
    assert set(make_plots(run, hooks=report_hooks())) == {
        "throughput",
        "lock_idle",
        "timeline",
        "memory",
    }
    assert not (run.run_dir / "curves.csv").exists()


def test_training_only_run_has_curves_and_throughput_only(make_run: Callable[..., Path]) -> None:
    run = load_run(make_run(pipelines=()))
    assert plot_lock_idle(run) is None
    assert plot_memory(run) is None
    assert plot_timeline(run) is None
    assert set(make_plots(run, hooks=report_hooks())) == {"throughput", "learning_curves"}


def test_single_repeat_and_custom_folder(
    make_run: Callable[..., Path], tmp_path: Path, png_ok: Callable[[Path], bool]
) -> None:
    run_dir = make_run(repeats=1)
    out = tmp_path / "elsewhere"
    assert png_ok(plot_learning_curves(run_dir, out))  # type: ignore[arg-type]
    assert png_ok(plot_throughput(run_dir, out))  # type: ignore[arg-type]
    assert not (run_dir / "plots").exists()


def test_idle_fractions_are_means_over_repeats(make_run: Callable[..., Path]) -> None:
    table = idle_frame(load_run(make_run()))
    assert list(table["benchmark"]) == ["gpipe-m8", "gpipe-m8", "dni-m8", "dni-m8"]
    row = table.iloc[0]
    assert row["busy"] == 0.7
    assert abs(row[["busy", "wait activation", "wait gradient", "comm", "other"]].sum() - 1) < 1e-9


def test_timeline_from_a_committed_trace(
    committed_run: Path, tmp_path: Path, png_ok: Callable[[Path], bool]
) -> None:
    run_dir = tmp_path / "real"
    (run_dir / "traces").mkdir(parents=True)
    for name in ("results.csv", "config.json", "fingerprint.json"):
        shutil.copy(committed_run / name, run_dir / name)
    shutil.copy(committed_run / "traces" / "gpipe-m8-r0.json", run_dir / "traces")
    run = load_run(run_dir)
    assert choose_benchmarks(run) == ["gpipe-m8"]
    frame = load_trace(run_dir / "traces" / "gpipe-m8-r0.json")
    assert frame is not None
    assert sorted(frame["stage"].unique()) == [0, 1]
    assert set(frame["group"]) == {"compute", "wait", "comm", "step"}
    lo, hi, label = steady_window(frame, warmup=5, microbatches=8)
    assert label == "steps 5-6"
    assert 0 < lo < hi
    path = plot_timeline(run)
    assert path is not None and png_ok(path)


def test_timeline_falls_back_and_skips_damaged_traces(make_run: Callable[..., Path]) -> None:
    run_dir = make_run(pipelines=("custom-a", "custom-b"), trainings=())
    run = load_run(run_dir)
    assert choose_benchmarks(run) == ["custom-a", "custom-b"]
    assert choose_benchmarks(run, ["custom-b", "missing"]) == ["custom-b"]
    for trace in (run_dir / "traces").iterdir():
        trace.write_text("{not json")
    assert load_trace(run_dir / "traces" / "custom-a-r0.json") is None
    assert plot_timeline(run) is None


def test_window_without_step_markers_is_the_middle(make_run: Callable[..., Path]) -> None:
    frame = load_trace(make_run() / "traces" / "gpipe-m8-r0.json")
    assert frame is not None
    lo, hi, label = steady_window(frame[frame["group"] != "step"], warmup=2, microbatches=4)
    end = float(frame["end_s"].max())
    assert label == "middle fifth of the run"
    assert abs(lo - 0.4 * end) < 1e-9 and abs(hi - 0.6 * end) < 1e-9


def test_names_are_not_parsed_as_tex(
    make_run: Callable[..., Path], png_ok: Callable[[Path], bool]
) -> None:
    odd = "bad$\\frac{$name"
    run = load_run(make_run(pipelines=(odd, "gpipe-m8"), trainings=("train-$x$",), repeats=1))
    for path in make_plots(run, hooks=report_hooks()).values():
        assert png_ok(path)
