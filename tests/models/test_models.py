import pytest
import torch
from torch.nn import functional as F

from dnibench.errors import UserError
from dnibench.models import LANGUAGE_MODELS, MODEL_NAMES, build_model
from dnibench.models.lstm import build_lstm, reset_states


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n not in LANGUAGE_MODELS])
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
    with pytest.raises(UserError, match=r"valid models: conv, conv1d, gpt, lstm, mlp.*'mlp'"):
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


def test_conv1d_matches_a_functional_forward_on_the_same_weights() -> None:
    """The net is the layers its docstring names: checked against torch.nn.functional."""
    torch.manual_seed(0)
    model = build_model("conv1d", (40,), 10, width=6, depth=3)
    net = model.as_module()
    with torch.no_grad():  # non-trivial BatchNorm statistics and affine terms
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    net.eval()
    x = torch.linspace(-2.0, 2.0, 3 * 40).reshape(3, 40)
    h = x.reshape(3, 1, 40)
    for block in model.blocks[:-1]:
        conv = next(m for m in block if isinstance(m, torch.nn.Conv1d))
        norm = next(m for m in block if isinstance(m, torch.nn.BatchNorm1d))
        h = F.conv1d(h, conv.weight, padding=2)
        h = F.batch_norm(
            h, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps
        )
        h = F.max_pool1d(F.relu(h), 2)
    assert h.shape == (3, 6, 5)  # 40 samples halved three times
    head = model.blocks[-1][1]
    expected = F.linear(h.flatten(1), head.weight, head.bias)
    with torch.no_grad():  # stages hand each other flat feature maps
        assert model.blocks[0](x).shape == (3, 6 * 20)
    with torch.no_grad():
        torch.testing.assert_close(net(x), expected)


def test_conv1d_reads_channels_by_length_and_keeps_short_signals_valid() -> None:
    model = build_model("conv1d", (3, 10), 4, width=5, depth=4)
    assert model.as_module()(torch.randn(2, 3, 10)).shape == (2, 4)
    head = model.blocks[-1][1]
    assert head.in_features == 5 * 1  # 10 -> 5 -> 2 -> 1 -> 1: pooling stops at length 1
    with pytest.raises(UserError, match="model conv1d: width must be >= 1"):
        build_model("conv1d", (40,), 10, width=0)
