"""What the engines refuse before the first update, each with the message a person sees."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from clr_core.errors import ConfigError
from clr_core.range_test import run_range_test
from clr_core.train import run_training

X = torch.randn(64, 4)
Y = (X[:, 0] > 0).long()
PAIRS = DataLoader(TensorDataset(X, Y), batch_size=16)
TRIPLES = DataLoader(TensorDataset(X, X, Y), batch_size=16)


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def both(model=None, optimizer=None, loss=None, loader=PAIRS, **kw):
    """The range test and the training, each on a fresh model: both must refuse."""
    for run in ("range", "train"):
        m = model if model is not None else net()
        opt = optimizer(m) if optimizer else torch.optim.SGD(m.parameters(), lr=1e-3)
        fn = loss or nn.CrossEntropyLoss()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if run == "range":
                yield lambda m=m, opt=opt, fn=fn: run_range_test(m, opt, fn, loader, num_iter=10, **kw)
            else:
                yield lambda m=m, opt=opt, fn=fn: run_training(m, opt, fn, loader, num_iter=3, **kw)


@pytest.mark.parametrize(("case", "kwargs", "message"), [
    ("non-scalar loss", {"loss": nn.CrossEntropyLoss(reduction="none")},
     r"the loss is a tensor of shape \(16,\), not a scalar: reduce it"),
    ("float loss", {"loss": lambda o, y: float(nn.functional.cross_entropy(o, y))},
     "the loss function returned a float, not a tensor"),
    ("no-grad loss", {"loss": lambda o, y: nn.functional.cross_entropy(o, y).detach()},
     "the loss has no gradient"),
    ("LBFGS", {"optimizer": lambda m: torch.optim.LBFGS(m.parameters())},
     r"LBFGS.step\(\) needs a closure"),
    ("(x1, x2, y) batches", {"loader": TRIPLES},
     "each batch holds 3 items, so which are the inputs and which the targets is ambiguous"),
    ("lr 1e300 on the optimizer", {"optimizer": lambda m: torch.optim.SGD(m.parameters(), lr=1e300)},
     r"the optimizer's lr is 1e\+300: an LR must be finite"),
])
def test_refused_before_the_first_step_with_a_message(case, kwargs, message):
    for call in both(**kwargs):
        with pytest.raises(ConfigError, match=message):
            call()


def test_a_model_on_the_meta_device_is_refused_by_name():
    with torch.device("meta"):
        model = nn.Linear(4, 2)
    with pytest.raises(ConfigError, match="'weight' is on the 'meta' device"):
        run_range_test(model, torch.optim.SGD(model.parameters(), lr=1e-3),
                       nn.CrossEntropyLoss(), PAIRS, num_iter=10)


def test_triples_train_with_batch_to_inputs_and_nothing_steps_before_a_refusal():
    model = net()
    result = run_training(model, torch.optim.SGD(model.parameters(), lr=0.1),
                          nn.CrossEntropyLoss(), TRIPLES, num_iter=3,
                          batch_to_inputs=lambda b: (b[0] + b[1], b[2]))
    assert result.stop_reason == "completed"
    model = net()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ConfigError):
        run_training(model, torch.optim.SGD(model.parameters(), lr=0.1),
                     nn.CrossEntropyLoss(reduction="none"), PAIRS, num_iter=3)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_fixed_lr_of_1e300_is_refused_by_run_training_and_the_range_test():
    model = net()
    with pytest.raises(ConfigError, match=r"the schedule's LR is 1e\+300 at step 0"):
        run_training(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                     PAIRS, num_iter=3, schedule={"policy": "fixed", "lr": 1e300})
    with pytest.raises(ConfigError, match="more than a float32 optimizer can hold"):
        run_range_test(model, torch.optim.SGD(model.parameters(), lr=0.1),
                       nn.CrossEntropyLoss(), PAIRS, num_iter=10, end_lr=1e300)


def test_a_validation_loader_of_triples_is_refused_too():
    model = net()
    with pytest.raises(ConfigError, match="each batch holds 3 items"):
        run_training(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                     PAIRS, num_iter=2, val_loader=TRIPLES)


def test_an_optimizer_of_another_model_and_a_bad_batch_to_inputs_are_named():
    for call in both(optimizer=lambda m: torch.optim.SGD(net().parameters(), lr=0.1)):
        with pytest.raises(ConfigError, match="the optimizer holds none of the model's"):
            call()
    for call in both(batch_to_inputs=lambda b: b[0]):
        with pytest.raises(ConfigError, match="batch_to_inputs must return .* a Tensor"):
            call()
