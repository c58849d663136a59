import torch

from dnibench.regimes.synthetic_input import SIConfig, SyntheticInput


def test_si_learns_to_predict_an_activation_from_the_input() -> None:
    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.Linear(10, 6), torch.nn.Tanh())
    si = SyntheticInput((10,), (6,), SIConfig(hidden=1, width=64, lr=3e-3))
    losses = []
    for _ in range(400):
        x = torch.randn(32, 10)
        with torch.no_grad():
            h = layer(x)
        losses.append(si.regress(x, h))
    assert losses[-1] < 0.1 * losses[0]


def test_si_output_has_the_activation_shape_and_no_graph() -> None:
    si = SyntheticInput((1, 8, 8), (4, 4, 4), SIConfig())
    hhat = si.predict(torch.randn(3, 1, 8, 8))
    assert hhat.shape == (3, 4, 4, 4)
    assert not hhat.requires_grad
