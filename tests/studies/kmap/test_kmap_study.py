"""The kmap blocks of suites/ttq.toml: report seeds, K = 2 is the ttq pipeline, weak scaling;
at K = 2 only the decoupled regimes (the fixed-order modes' replay is the ttq run itself)."""

from __future__ import annotations

from dnibench.modes import Family, get_mode
from dnibench.stats import REPORT_SEEDS
from dnibench.studies.kmap import KMAP, REPLAY_RUNTIME
from dnibench.studies.ttq.keys import TTQConfig, seeds_of
from dnibench.studies.ttq.section import MATCH_FIELDS
from dnibench.suites.rewrites import load_suite_profile


def test_kmap_runs_k2_to_4_on_report_seeds_and_k2_is_the_ttq_pipeline() -> None:
    suite = load_suite_profile("ttq")
    kmap = [item for item in suite.items if item.kind == KMAP]
    ttq = {item.spec.mode: item.spec for item in suite.items if item.kind == "ttq" and item.spec
           and item.name.startswith("mnist1d-mlp")}  # fmt: skip
    assert {item.spec.stages for item in kmap if item.spec} == {2, 3, 4}
    for item in kmap:
        spec, config = item.spec, item.config
        assert spec is not None and isinstance(config, TTQConfig)
        assert item.runtime == REPLAY_RUNTIME
        assert set(seeds_of(spec, item.repeats)) <= set(REPORT_SEEDS)
        if spec.stages > 2:  # two blocks a stage; K = 2 leaves them to the model, as ttq does
            assert spec.depth == 2 * spec.stages - 1 and spec.balance == (2,) * spec.stages
        assert config.target is not None and config.workload == "mnist1d-mlp"
        if spec.stages == 2:
            assert get_mode(spec.mode).family is Family.DECOUPLED, item.name
            assert item.repeats == 5
            same = ttq[spec.mode]
            assert all(getattr(spec, f) == getattr(same, f) for f in MATCH_FIELDS), item.name
            assert (spec.steps, spec.eval_every) == (same.steps, same.eval_every)


# Cut from the K map for the 60-minute budget (suites/ttq.toml's top says which run chose it):
# cdni and unlock entirely; pipedream-2bw and pipemare-plain beyond K = 2, where the map
# extrapolates them from the ttq run's own samples.
CUT = {"cdni", "unlock", "pipedream-2bw", "pipemare-plain"}


def test_kmap_replays_every_mode_of_the_workload_beyond_k2_but_the_budget_cuts() -> None:
    suite = load_suite_profile("ttq")
    ttq_modes = {item.spec.mode for item in suite.items if item.kind == "ttq" and item.spec
                 and item.name.startswith("mnist1d-mlp")}  # fmt: skip
    peers = {m for m in ttq_modes if get_mode(m).family is Family.PEER}
    assert ttq_modes >= CUT  # the cut modes are still timed to quality
    for k in (3, 4):
        modes = {item.spec.mode for item in suite.items
                 if item.kind == KMAP and item.spec and item.spec.stages == k}  # fmt: skip
        # gpipe and zb train as 1f1b does (the map copies 1f1b's samples); no PyTorch peer
        assert modes == ttq_modes - peers - {"gpipe", "zb"} - CUT, k
        assert {"dni", "1f1b"} <= modes
