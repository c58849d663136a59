"""Result rows of the asynchronous modes carry their stash, counted from the version store."""

from __future__ import annotations

from dnibench.optim import OptimConfig
from dnibench.runtimes.spec import BenchSpec


def test_pipedream_rows_count_stash_bytes_against_parameter_bytes() -> None:
    from dnibench.runtimes.streams.runner import run_streams

    spec = BenchSpec(
        name="pd", mode="pipedream", width=16, depth=3, input_shape=(32,), stages=3,
        microbatches=2, batch_size=8, steps=4, warmup=1, optim=OptimConfig(name="sgd", lr=0.1),
        runtime="streams", device="cpu", timeout_s=30,
    )  # fmt: skip
    rows = run_streams(spec).rows()

    def value(metric: str, stage: int) -> float:
        (row,) = [r for r in rows if r["metric"] == metric and r["stage"] == stage]
        return float(row["value"])  # type: ignore[arg-type]

    for k in range(3):
        assert value("stash_bytes", k) == (3 - k - 1) * value("parameter_bytes", k)
        assert value("weight_versions_held", k) == 3 - k
    assert not [r for r in rows if r["metric"] == "aux_head_flops"]
