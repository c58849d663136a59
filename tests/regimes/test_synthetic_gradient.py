import pytest
import torch

from dnibench.regimes.synthetic_gradient import SGConfig, SyntheticGradient


@pytest.mark.parametrize("shape", [(12,), (5, 12), (4, 6, 6)])
@pytest.mark.parametrize("hidden", [0, 1, 2])
def test_first_synthetic_gradients_are_zero(shape: tuple[int, ...], hidden: int) -> None:
    sg = SyntheticGradient(shape, SGConfig(hidden=hidden, width=8))
    h = torch.randn(3, *shape)
    synthetic = sg.predict(h)
    assert synthetic.shape == h.shape
    assert torch.count_nonzero(synthetic) == 0


def test_low_rank_sg_is_a_bottleneck() -> None:
    sg = SyntheticGradient((64,), SGConfig(hidden=0, width=4))
    weights = [m.weight.shape for m in sg.net if isinstance(m, torch.nn.Linear)]
    assert weights == [(4, 64), (64, 4)]
    full = SyntheticGradient((64,), SGConfig(hidden=0))
    assert [m.weight.shape for m in full.net] == [(64, 64)]


def test_regression_learns_a_linear_gradient_map() -> None:
    torch.manual_seed(0)
    teacher = torch.randn(8, 8) / 3
    sg = SyntheticGradient((8,), SGConfig(hidden=0, lr=1e-2))
    losses = []
    for _ in range(300):
        h = torch.randn(32, 8)
        delta = (h @ teacher) / 32  # a microbatch-mean gradient
        losses.append(sg.regress(h, None, delta))
    assert losses[-1] < 0.01 * losses[0]
    h = torch.randn(16, 8)
    torch.testing.assert_close(sg.predict(h), (h @ teacher) / 16, atol=2e-3, rtol=0.05)


def test_prediction_is_per_example_so_microbatch_size_does_not_matter() -> None:
    sg = SyntheticGradient((6,), SGConfig(hidden=1, width=8))
    torch.nn.init.normal_(sg.net[-1].weight)
    h = torch.randn(10, 6)
    whole = sg.predict(h) * 10
    half = sg.predict(h[:5]) * 5
    torch.testing.assert_close(whole[:5], half)


def test_scale_multiplies_the_prediction() -> None:
    base = SyntheticGradient((6,), SGConfig(scale=1.0))
    scaled = SyntheticGradient((6,), SGConfig(scale=0.1))
    scaled.load_state_dict(base.state_dict())
    torch.nn.init.normal_(base.net[-1].weight)
    scaled.net[-1].weight.data.copy_(base.net[-1].weight)
    h = torch.randn(4, 6)
    torch.testing.assert_close(scaled.predict(h), 0.1 * base.predict(h))


@pytest.mark.parametrize("shape", [(12,), (5, 12), (4, 6, 6)])
def test_cdni_context_changes_the_prediction(shape: tuple[int, ...]) -> None:
    sg = SyntheticGradient(shape, SGConfig(hidden=1, width=8), context_size=3)
    for layer in sg.net:
        if hasattr(layer, "weight"):
            torch.nn.init.normal_(layer.weight)
    h = torch.randn(2, *shape)
    a = sg.predict(h, torch.eye(3)[[0, 0]])
    b = sg.predict(h, torch.eye(3)[[1, 1]])
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="context"):
        sg.predict(h)


def test_config_rejects_bad_knobs() -> None:
    with pytest.raises(ValueError, match="0, 1 or 2"):
        SGConfig(hidden=3)
    with pytest.raises(ValueError, match="positive"):
        SGConfig(width=0)


# -- per token (the gpt's boundaries) ---------------------------------------------------


@pytest.mark.parametrize("hidden", [0, 1, 2])
@pytest.mark.parametrize("context", [0, 7])
def test_a_token_sg_starts_at_zero_and_keeps_the_shape(hidden: int, context: int) -> None:
    sg = SyntheticGradient((5, 12), SGConfig(hidden=hidden, width=8), context, tokens=True)
    h, ids = torch.randn(3, 5, 12), torch.randint(0, 7, (3, 5))
    synthetic = sg.predict(h, sg.context_of(ids, 7) if context else None)
    assert synthetic.shape == h.shape
    assert torch.count_nonzero(synthetic) == 0


def test_a_token_sg_predicts_each_token_from_its_own_activation() -> None:
    torch.manual_seed(0)
    sg = SyntheticGradient((5, 6), SGConfig(hidden=1, width=8), tokens=True)
    torch.nn.init.normal_(sg.net[-1].weight)
    h = torch.randn(4, 5, 6)
    changed = h.clone()
    changed[:, 2] += 1.0
    before, after = sg.predict(h), sg.predict(changed)
    keep = [0, 1, 3, 4]
    assert torch.equal(before[:, keep], after[:, keep])
    assert not torch.equal(before[:, 2], after[:, 2])
    # The loss is a mean over B * L tokens: per-token values scale with 1 / (B * L).
    torch.testing.assert_close(sg.predict(h[:2, :5]) * 10, before[:2] * 20)


def test_a_token_sg_regresses_onto_the_summed_per_token_gradient() -> None:
    sg = SyntheticGradient((3, 4), SGConfig(hidden=0, lr=0.1), tokens=True)
    h, delta = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    expected = torch.nn.functional.mse_loss(torch.zeros(2, 3, 4), delta * 6)
    assert torch.equal(sg.regress(h, None, delta), expected)  # target: delta * B * L


def test_the_token_context_is_each_positions_target_through_an_embedding() -> None:
    torch.manual_seed(0)
    sg = SyntheticGradient((5, 6), SGConfig(hidden=1, width=8), context_size=7, tokens=True)
    assert sg.context_embedding is not None and sg.context_embedding.weight.shape == (7, 8)
    assert sg.net[0].in_features == 6  # the target is embedded, not concatenated
    assert any(
        p is sg.context_embedding.weight for g in sg.optimizer.param_groups for p in g["params"]
    )
    torch.nn.init.normal_(sg.net[-1].weight)
    h, ids = torch.randn(2, 5, 6), torch.randint(0, 7, (2, 5))
    assert torch.equal(sg.context_of(ids, 7), ids)
    other = ids.clone()
    other[:, 3] = (other[:, 3] + 1) % 7
    before, after = sg.predict(h, ids), sg.predict(h, other)
    assert torch.equal(before[:, :3], after[:, :3])
    assert not torch.equal(before[:, 3], after[:, 3])
    with pytest.raises(ValueError, match="needs a context"):
        sg.predict(h)


def test_a_linear_token_sgs_context_embedding_starts_at_zero() -> None:
    sg = SyntheticGradient((5, 6), SGConfig(hidden=0), context_size=7, tokens=True)
    assert sg.context_embedding is not None
    assert torch.count_nonzero(sg.context_embedding.weight) == 0


@pytest.mark.parametrize("hidden", [0, 1])
def test_rank_factorises_the_output_layer(hidden: int) -> None:
    sg = SyntheticGradient((5, 64), SGConfig(hidden=hidden, width=32, rank=4), tokens=True)
    shapes = [m.weight.shape for m in sg.net if isinstance(m, torch.nn.Linear)]
    assert shapes[-2:] == [(4, 32 if hidden else 64), (64, 4)]
    assert len(shapes) == hidden + 2
    with pytest.raises(ValueError, match="rank"):
        SGConfig(rank=0)
