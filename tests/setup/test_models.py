"""Every model fits every input shape, and seeded construction is reproducible."""

import pytest
import torch

from clr_core.errors import ConfigError
from clr_core.setup.models import MODELS, make_model

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]
IMAGE_MODELS = sorted(n for n, m in MODELS.items() if m.inputs == "image")
TEXT_MODELS = sorted(n for n, m in MODELS.items() if m.inputs == "text")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_forward_shape(name, shape):
    num_classes = 7
    model = make_model(name, shape, num_classes, seed=0)
    model.train()
    out = model(torch.randn(4, *shape))
    assert out.shape == (4, num_classes)
    out.sum().backward()  # gradients flow to every parameter
    assert all(p.grad is not None for p in model.parameters())


def test_resnet18_adapted_for_small_images():
    small = make_model("resnet18", (1, 28, 28), 10)
    assert small.conv1.in_channels == 1 and small.conv1.stride == (1, 1)
    assert small.conv1.kernel_size == (3, 3)
    assert isinstance(small.maxpool, torch.nn.Identity)
    assert small.fc.out_features == 10
    big = make_model("resnet18", (3, 64, 64), 5)
    assert big.conv1.stride == (2, 2) and not isinstance(big.maxpool, torch.nn.Identity)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_seeded_init(name):
    before = torch.get_rng_state()
    shape = (3, 32, 32) if MODELS[name].inputs == "image" else (16,)
    a = make_model(name, shape, 10, seed=3).state_dict()
    b = make_model(name, shape, 10, seed=3).state_dict()
    c = make_model(name, shape, 10, seed=4).state_dict()
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is left alone
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_width():
    narrow = make_model("mlp", (1, 8, 8), 10, width=16)
    wide = make_model("mlp", (1, 8, 8), 10, width=64)
    assert sum(p.numel() for p in narrow.parameters()) < sum(p.numel() for p in wide.parameters())
    assert make_model("cnn", (1, 8, 8), 10, width=8)[0][0].out_channels == 8


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "vgg"}, "unknown model"),
    ({"input_shape": (8, 8)}, "input_shape"),
    ({"input_shape": (1, 0, 8)}, "input_shape"),
    ({"num_classes": 1}, "num_classes"),
    ({"num_classes": 2.5}, "num_classes"),
    ({"width": 0}, "width"),
    ({"name": "cnn", "input_shape": (1, 2, 2)}, "4x4"),
])
def test_errors(kwargs, match):
    args = {"name": "mlp", "input_shape": (1, 8, 8), "num_classes": 10, **kwargs}
    with pytest.raises(ConfigError, match=match):
        make_model(args.pop("name"), args.pop("input_shape"), args.pop("num_classes"), **args)


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_language_models_predict_every_next_character(name):
    """Logits (batch, vocabulary, time), the layout cross-entropy reads against (batch,
    time) targets; the transformer is causal: a later character cannot change earlier logits."""
    model = make_model(name, (12,), 96, seed=0)
    x = torch.randint(0, 96, (3, 12))
    out = model(x)
    assert out.shape == (3, 96, 12)
    torch.nn.functional.cross_entropy(out, x).backward()
    assert all(p.grad is not None for p in model.parameters())
    y = x.clone()
    y[:, -1] = (y[:, -1] + 1) % 96
    with torch.no_grad():
        assert torch.allclose(model(x)[:, :, :-1], model(y)[:, :, :-1], atol=1e-5)


def test_text_and_image_models_refuse_the_other_kind():
    with pytest.raises(ConfigError, match="reads text"):
        make_model("char_transformer", (1, 8, 8), 10)
    with pytest.raises(ConfigError, match="text model"):
        make_model("mlp", (64,), 96)
