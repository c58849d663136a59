import pytest
import torch

from dnibench.regimes.synthetic_input import SIConfig, SyntheticInput, TokenEmbeddings


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


# -- token inputs (the gpt) -------------------------------------------------------------


def test_a_token_si_embeds_ids_per_position() -> None:
    torch.manual_seed(0)
    si = SyntheticInput((5,), (5, 12), SIConfig(hidden=1, width=16), vocab_size=9)
    assert isinstance(si.net[0], TokenEmbeddings)
    assert si.net[0].token.weight.shape == (9, 16) and si.net[0].position.weight.shape == (5, 16)
    ids = torch.randint(0, 9, (3, 5))
    hhat = si.predict(ids)
    assert hhat.shape == (3, 5, 12) and not hhat.requires_grad
    changed = ids.clone()
    changed[:, 2] = (changed[:, 2] + 1) % 9
    after = si.predict(changed)
    keep = [0, 1, 3, 4]
    assert torch.equal(hhat[:, keep], after[:, keep])  # each position from its own token
    assert not torch.equal(hhat[:, 2], after[:, 2])
    same = torch.zeros(1, 5, dtype=torch.long)  # one token everywhere: positions still differ
    assert not torch.equal(si.predict(same)[0, 0], si.predict(same)[0, 1])


def test_a_linear_token_si_is_the_embeddings_alone() -> None:
    si = SyntheticInput((4,), (4, 6), SIConfig(hidden=0), vocab_size=5)
    assert len(si.net) == 1 and si.net[0].token.weight.shape == (5, 6)


def test_a_token_si_learns_a_per_position_map() -> None:
    torch.manual_seed(0)
    table = torch.randn(7, 4)
    si = SyntheticInput((6,), (6, 4), SIConfig(hidden=1, width=32, lr=1e-2), vocab_size=7)
    losses = []
    for _ in range(300):
        ids = torch.randint(0, 7, (16, 6))
        losses.append(float(si.regress(ids, table[ids])))
    assert losses[-1] < 0.05 * losses[0]


def test_a_token_si_needs_matching_lengths() -> None:
    with pytest.raises(ValueError, match=r"\(L,\) ids to \(L, D\)"):
        SyntheticInput((5,), (6, 12), SIConfig(), vocab_size=9)
