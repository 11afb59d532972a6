"""The stability limit for the optimizer in use: Adam's preconditioned sharpness against
(2 + 2β1) / ((1 − β1)·η) (Cohen et al., "Adaptive Gradient Methods at the Edge of
Stability", 2022), checked on quadratics whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from clr_core.engine.range_test import run_range_test
from clr_core.engine.sharpness import (
    adam_preconditioner,
    hessian_max_eigenvalue,
    limit_crossing,
    optimizer_kind,
)
from clr_core.errors import ConfigError
from clr_core.suggest.stability import stability_limit


class Quadratic(nn.Module):
    """L(w) = ½ Σ h_i w_i²: the Hessian is diag(h)."""

    def __init__(self, h: torch.Tensor, w0: torch.Tensor) -> None:
        super().__init__()
        self.h = h
        self.w = nn.Parameter(w0.clone())

    def forward(self, x):
        return 0.5 * (self.h * self.w**2).sum() + 0 * x.sum()


def _loss(out, y):
    return out


def test_preconditioned_sharpness_is_max_of_h_over_adam_denominator():
    h = torch.tensor([50.0, 3.0, 0.2, 8.0])
    model = Quadratic(h, torch.tensor([1.0, -2.0, 3.0, 0.5]))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.1)
    x = torch.zeros(1)
    for _ in range(7):
        opt.zero_grad()
        model(x).backward()
        opt.step()
    state = opt.state[model.w]
    v_hat = state["exp_avg_sq"] / (1 - 0.95 ** float(state["step"]))
    exact = float((h / (v_hat.sqrt() + 1e-8)).max())
    scale = adam_preconditioner(opt, [model.w])
    est = hessian_max_eigenvalue(model, _loss, x, None, precondition=scale, tol=1e-6)
    assert est.lambda_max == pytest.approx(exact, rel=1e-4)
    plain = hessian_max_eigenvalue(model, _loss, x, None, tol=1e-6)
    assert plain.lambda_max == pytest.approx(50.0, rel=1e-4)  # without P: λmax(H)
    assert optimizer_kind(opt) == "adam"
    assert stability_limit(exact, 0.9, "adam") == pytest.approx(38.0 / exact)


@pytest.mark.parametrize("beta1", [0.0, 0.5, 0.9])
def test_adam_limit_is_where_the_frozen_preconditioner_update_diverges(beta1):
    """Adam's update with P held fixed, m ← β1·m + (1−β1)·g, w ← w − η·m/p, on ½·h·w²:
    stable just below (2+2β1)/((1−β1)·h/p), unstable just above."""
    h, p = 4.0, 0.5
    eta_star = stability_limit(h / p, beta1, "adam")

    def final(eta):
        w, m = 1.0, 0.0
        for _ in range(3000):
            m = beta1 * m + (1 - beta1) * h * w
            w -= eta * m / p
            if abs(w) > 1e6:
                break
        return abs(w)

    assert final(0.97 * eta_star) < 1e-3
    assert final(1.03 * eta_star) > 1e3


def test_gd_limit_and_unknown_kind():
    assert stability_limit(10.0, 0.9) == pytest.approx(0.38)
    assert stability_limit(0.0, 0.9, "adam") == math.inf
    with pytest.raises(ConfigError):
        stability_limit(1.0, 0.0, "rmsprop")
    assert optimizer_kind(torch.optim.RMSprop([nn.Parameter(torch.zeros(1))])) == "none"


def test_crossing_interpolates_on_the_log_axis():
    rows = [(0, 0.01, 10.0), (5, 0.1, 10.0), (10, 1.0, 10.0)]  # limit 0.2 (gd, β=0)
    assert limit_crossing(rows, 0.0, "gd") == pytest.approx(0.2, rel=1e-9)
    assert math.isnan(limit_crossing(rows, 0.0, "none"))


def _batches(x, y):
    while True:
        yield x, y


def test_adam_range_test_records_the_preconditioned_sharpness_and_rmsprop_says_why_not():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 5, generator=g), torch.randn(64, 1, generator=g)
    model = nn.Linear(5, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.99))
    r = run_range_test(model, opt, nn.MSELoss(), _batches(x, y), start_lr=1e-4, end_lr=10,
                       num_iter=30, sharpness_every=5)
    assert r.sharpness_kind == "adam" and r.sharpness_beta == pytest.approx(0.9)
    lam = r.sharpness[:, 2]
    assert len(lam) == 6 and np.isfinite(lam).all() and (lam > 0).all()  # after each step
    back = type(r).from_dict(r.to_dict())
    assert back.sharpness_kind == "adam" and back.sharpness_beta == pytest.approx(0.9)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-4)
    r = run_range_test(model, opt, nn.MSELoss(), _batches(x, y), start_lr=1e-4, end_lr=1,
                       num_iter=12, sharpness_every=4)
    assert r.sharpness_kind == "none" and len(r.sharpness) == 0
    assert "no stability limit" in r.sharpness_note and "RMSprop" in r.sharpness_note
