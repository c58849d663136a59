import pytest
import torch

from dnibench.errors import UserError
from dnibench.models import MODEL_NAMES, build_model
from dnibench.models.lstm import build_lstm, reset_states


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("shape", [(64,), (1, 8, 8)])
def test_models_classify_vectors_and_images(name: str, shape: tuple[int, ...]) -> None:
    model = build_model(name, shape, 10, width=8, depth=2)
    logits = model.as_module()(torch.randn(5, *shape))
    assert logits.shape == (5, 10)
    assert len(model) == 3  # two hidden layers and the classifier


def test_blocks_are_the_layers_the_brief_names() -> None:
    mlp = build_model("mlp", (64,), 10, width=16, depth=2)
    kinds = [type(m).__name__ for m in mlp.blocks[1]]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"]
    conv = build_model("conv", (1, 8, 8), 10, width=4, depth=1)
    assert [type(m).__name__ for m in conv.blocks[0]][1:] == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "MaxPool2d",
    ]


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(UserError, match=r"valid models: conv, lstm, mlp.*'mlp'"):
        build_model("mpl", (64,), 10)


def test_conv_rejects_non_square_vectors() -> None:
    with pytest.raises(UserError, match="square"):
        build_model("conv", (40,), 10)


def test_stateful_lstm_carries_and_resets_state() -> None:
    torch.manual_seed(0)
    model = build_lstm((4, 3), 5, width=6, depth=1, stateful=True, every_step=True)
    net = model.as_module()
    x = torch.randn(2, 4, 3)
    first = net(x)
    carried = net(x)
    assert not torch.allclose(first, carried)
    reset_states(net)
    torch.testing.assert_close(net(x), first)


def test_lstm_token_inputs_with_per_step_readout() -> None:
    model = build_lstm((7,), 11, width=8, depth=2, vocab_size=11, every_step=True)
    tokens = torch.randint(0, 11, (3, 7))
    logits = model.as_module()(tokens)
    assert logits.shape == (3, 7, 11)
    loss = model.loss(logits, tokens)
    assert loss.dim() == 0
