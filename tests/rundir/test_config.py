"""The typed config: every shape config.json has taken reads into one RunConfig."""

from __future__ import annotations

from pathlib import Path

from dnibench.rundir.config import parse_config
from dnibench.rundir.reader import RunConfig, read_config

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline-run"


def test_typed_specs_and_ratios() -> None:
    config = read_config(FIXTURE)
    entry = config.benchmarks[0]
    assert entry.kind == "pipeline" and entry.spec.name == entry.name
    assert isinstance(entry.spec.integer("microbatches"), int)
    assert entry.spec.integer("no such field", 7) == 7
    assert entry.spec.text("mode") == entry.spec.mode
    assert config.specs("pipeline").keys() == {e.name for e in config.of_kind("pipeline")}
    assert read_config(FIXTURE / "nowhere") == RunConfig()


def test_legacy_v0_shapes() -> None:
    bare = parse_config([{"name": "gpipe-m8", "mode": "gpipe", "warmup": 3}])
    assert bare.format_version == 0 and bare.benchmarks[0].kind == "pipeline"
    assert bare.benchmarks[0].spec.integer("warmup") == 3
    nested = parse_config({"spec": {"benchmarks": [{"name": "a", "batch_size": 8}]}})
    assert nested.specs()["a"].integer("batch_size") == 8
    current = parse_config(
        {"format_version": 1, "benchmarks": [{"name": "t", "kind": "train", "spec": None}],
         "ratios": [{"name": "r", "numerator": "a", "denominator": "b"}, {"name": "bad"}],
         "suites": ["quick"], "command": "dnibench run quick"}
    )  # fmt: skip
    assert current.format_version == 1 and current.suites == ("quick",)
    assert [r.name for r in current.ratios] == ["r"] and current.ratios[0].metric == "throughput"
    assert current.of_kind("train")[0].name == "t"
