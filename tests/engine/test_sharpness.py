"""λmax by power iteration on Hessian-vector products, checked where the Hessian is exact."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from range_results import curve_result

from clr_core.engine.range_test import run_range_test
from clr_core.engine.results import RangeTestResult
from clr_core.engine.sharpness import hessian_max_eigenvalue
from clr_core.errors import ConfigError
from clr_core.present.plots import range_test_figure
from clr_core.suggest.stability import stability_limit


def _least_squares(seed: int, n: int, d: int, offset: float):
    """Full-batch least squares with a bias: L = mean((Xw + b - y)²), H = 2/n · ZᵀZ, Z = [X 1]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g) + offset
    y = torch.randn(n, 1, generator=g)
    torch.manual_seed(seed)
    model = torch.nn.Linear(d, 1)
    z = torch.cat([x, torch.ones(n, 1)], dim=1)
    exact = float(torch.linalg.eigvalsh(2.0 / n * z.T @ z)[-1])
    return model, x, y, exact


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 200), d=st.integers(1, 12),
       offset=st.floats(-2.0, 2.0))
def test_least_squares_estimate_is_within_one_percent_of_the_exact_eigenvalue(seed, n, d, offset):
    model, x, y, exact = _least_squares(seed, n, d, offset)
    est = hessian_max_eigenvalue(model, torch.nn.functional.mse_loss, x, y)
    assert est.lambda_max == pytest.approx(exact, rel=0.01)


def test_every_warm_started_estimate_along_a_descent_is_within_one_percent():
    model, x, y, exact = _least_squares(3, 120, 8, 0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.5 / exact)
    prev, iterations = None, []
    for _ in range(15):
        est = hessian_max_eigenvalue(model, torch.nn.functional.mse_loss, x, y,
                                     init=None if prev is None else prev.vector)
        assert est.lambda_max == pytest.approx(exact, rel=0.01)
        iterations.append(est.iterations)
        prev = est
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    # the warm start carries the eigenvector over: later estimates need fewer products
    assert max(iterations[1:]) < iterations[0]


class _Quadratic(torch.nn.Module):
    """loss = ½ wᵀAw, whatever the batch: a Hessian A chosen by the test."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.w


def test_a_dominant_negative_eigenvalue_does_not_hide_the_largest_one():
    a = torch.diag(torch.tensor([3.0, -10.0, 1.0, -0.5]))
    est = hessian_max_eigenvalue(_Quadratic(4), lambda w, _: 0.5 * w @ a @ w, None, None,
                                 tol=1e-6, max_iter=200)
    assert est.lambda_max == pytest.approx(3.0, rel=1e-3)


def test_a_flat_loss_has_zero_sharpness_and_no_stability_limit():
    est = hessian_max_eigenvalue(_Quadratic(3), lambda w, _: w.sum(), None, None)
    assert est.lambda_max == 0.0
    assert stability_limit(est.lambda_max) == math.inf


def test_stability_limit_with_momentum():
    assert stability_limit(4.0) == pytest.approx(0.5)
    assert stability_limit(4.0, momentum=0.9) == pytest.approx(0.95)


def _bn_dropout_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(16, 3))


def test_the_estimate_leaves_parameters_grads_buffers_mode_and_rng_alone():
    model = _bn_dropout_model()
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    torch.nn.functional.cross_entropy(model(x), y).backward()  # the caller has grads
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    grads = {k: v.grad.clone() for k, v in model.named_parameters()}
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    rng = torch.get_rng_state()
    est = hessian_max_eigenvalue(model, torch.nn.functional.cross_entropy, x, y)
    assert est.lambda_max > 0 and math.isfinite(est.lambda_max)
    assert model.training
    assert torch.equal(torch.get_rng_state(), rng)
    for k, v in model.named_parameters():
        assert torch.equal(v, params[k]) and torch.equal(v.grad, grads[k]), k
    for k, v in model.named_buffers():
        assert torch.equal(v, buffers[k]), k


def test_eval_mode_measures_the_running_statistics_function():
    model = _bn_dropout_model()
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    train = hessian_max_eigenvalue(model, torch.nn.functional.cross_entropy, x, y, tol=1e-6,
                                   max_iter=100)
    model.eval()
    evaluated = hessian_max_eigenvalue(model, torch.nn.functional.cross_entropy, x, y, tol=1e-6,
                                       max_iter=100)
    assert not model.training
    # batch statistics and running statistics (fresh: mean 0, var 1) are different functions
    assert evaluated.lambda_max != pytest.approx(train.lambda_max, rel=1e-3)


def test_autocast_is_switched_off_so_the_estimate_is_the_float32_one():
    model, x, y, exact = _least_squares(1, 64, 5, 1.0)
    plain = hessian_max_eigenvalue(model, torch.nn.functional.mse_loss, x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_amp = hessian_max_eigenvalue(model, torch.nn.functional.mse_loss, x, y)
    assert under_amp.lambda_max == plain.lambda_max
    assert under_amp.lambda_max == pytest.approx(exact, rel=0.01)


def test_bad_settings_are_config_errors():
    model, x, y, _ = _least_squares(0, 10, 2, 0.0)
    with pytest.raises(ConfigError):
        hessian_max_eigenvalue(model, torch.nn.functional.mse_loss, x, y, tol=0)
    with pytest.raises(ConfigError):
        hessian_max_eigenvalue(model, torch.nn.functional.mse_loss, x, y, max_iter=1)
    frozen = torch.nn.Linear(2, 1).requires_grad_(False)
    with pytest.raises(ConfigError):
        hessian_max_eigenvalue(frozen, torch.nn.functional.mse_loss, x, y)


# ------------------------------------------------------------------ on the range test


def _range_test(model, x, y, **kw):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    return run_range_test(model, opt, torch.nn.functional.mse_loss, [(x, y)], start_lr=1e-4,
                          end_lr=1.0, num_iter=30, diverge_threshold=None, **kw)


def test_the_range_test_estimates_sharpness_every_k_within_one_percent():
    model, x, y, exact = _least_squares(5, 100, 6, 0.7)
    result = _range_test(model, x, y, sharpness_every=4)
    assert result.sharpness.shape == (8, 3)  # iterations 0, 4, ..., 28
    assert list(result.sharpness[:, 0]) == list(range(0, 30, 4))
    np.testing.assert_allclose(result.sharpness[:, 1], result.lrs[::4])
    np.testing.assert_allclose(result.sharpness[:, 2], exact, rtol=0.01)
    again = RangeTestResult.from_dict(json.loads(json.dumps(result.to_dict())))
    np.testing.assert_array_equal(again.sharpness, result.sharpness)


def test_asking_for_sharpness_changes_neither_the_curve_nor_the_restored_model():
    model, x, y, _ = _least_squares(2, 50, 3, 0.0)
    before = [p.detach().clone() for p in model.parameters()]
    plain = _range_test(model, x, y, seed=0)
    measured = _range_test(model, x, y, seed=0, sharpness_every=3)
    np.testing.assert_array_equal(plain.losses, measured.losses)
    for p, b in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, b)


def test_nothing_is_computed_when_sharpness_is_not_asked_for(monkeypatch):
    import clr_core.engine.sharpness as sharpness

    def refuse(*args, **kwargs):
        raise AssertionError("sharpness computed without being asked for")

    monkeypatch.setattr(sharpness, "hessian_max_eigenvalue", refuse)
    model, x, y, _ = _least_squares(1, 40, 3, 0.0)
    result = _range_test(model, x, y)
    assert result.sharpness.shape == (0, 3)
    with pytest.raises(ConfigError):
        _range_test(model, x, y, sharpness_every=-1)


def test_the_range_test_chart_draws_the_limit_and_shades_where_the_lr_passes_it():
    lrs = np.geomspace(1e-3, 1.0, 50)
    losses = np.linspace(2.0, 1.0, 50)
    # λmax = 4 everywhere: the limit with β = 0.5 is 2·1.5/4 = 0.75, crossed between rows
    rows = [(i, lr, 4.0) for i, lr in enumerate(lrs) if i % 7 == 0]
    fig = range_test_figure(curve_result(lrs, losses, sharpness=rows, momentum=0.5))
    limit = next(t for t in fig.data if t.name.startswith("stability limit"))
    assert limit.name == "stability limit 2(1+β)/λmax, β=0.5"
    assert limit.yaxis == "y2"  # its own small panel under the loss, sharing the LR axis
    np.testing.assert_allclose(limit.y, np.asarray(limit.x) / 0.75)  # the LR over the limit
    (band,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert band.x0 == pytest.approx(0.75, rel=1e-6)
    plain = range_test_figure(curve_result(lrs, losses, sharpness=[]))
    assert not any((t.name or "").startswith("stability limit") for t in plain.data)
