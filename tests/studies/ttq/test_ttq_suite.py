"""suites/ttq.toml: the regimes it promises, its stated settings, a CI profile that fits."""

from __future__ import annotations

from dnibench.modes import CDNI, DNI, GPIPE, ONE_F_ONE_B, UNLOCK, ZB, Family, mode_names
from dnibench.stats import CALIBRATION_SEEDS
from dnibench.studies.ttq.keys import TTQConfig, seeds_of
from dnibench.studies.ttq.section import MATCH_FIELDS
from dnibench.suites.rewrites import load_suite_profile

PROMISED = {GPIPE.name, ONE_F_ONE_B.name, ZB.name, DNI.name, CDNI.name, UNLOCK.name}
PROMISED |= set(mode_names(Family.ASYNC))


def test_every_workload_runs_the_promised_regimes_on_the_report_seeds() -> None:
    suite = load_suite_profile("ttq")
    ttq = [item for item in suite.items if item.kind == "ttq"]
    workloads: dict[str, set[str]] = {}
    for item in ttq:
        config = item.config
        assert isinstance(config, TTQConfig) and item.spec is not None
        assert config.target is not None and config.floor_best is not None
        assert config.floor_best < config.target
        assert seeds_of(item.spec, item.repeats) == [0, 1, 2, 3, 4]
        assert not set(seeds_of(item.spec, item.repeats)) & set(CALIBRATION_SEEDS)
        workloads.setdefault(config.workload, set()).add(item.spec.mode)
    assert {"mnist1d-conv1d", "mnist1d-mlp"} <= set(workloads)
    for modes in workloads.values():
        assert modes >= PROMISED and len(modes) == len(PROMISED) + 1  # and one PyTorch peer


def test_every_ttq_benchmark_has_its_throughput_launch() -> None:
    suite = load_suite_profile("ttq")
    grid = [item.spec for item in suite.items if item.kind == "pipeline"]
    for item in suite.items:
        if item.kind != "ttq":
            continue
        spec = item.spec
        assert spec is not None
        assert any(
            all(getattr(other, f) == getattr(spec, f) for f in MATCH_FIELDS)
            for other in grid
            if other is not None
        ), item.name


def test_the_ci_profile_is_small() -> None:
    suite = load_suite_profile("ttq", "ci")
    assert sum(item.repeats for item in suite.items) <= 8
    assert all(item.spec is not None and item.spec.steps <= 60 for item in suite.items)
