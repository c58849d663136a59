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
