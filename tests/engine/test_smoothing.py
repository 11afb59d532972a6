"""The debiased EMA: vectorised and online forms agree and behave like fastai's."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clr_core.engine.smoothing import EmaSmoother, ema
from clr_core.errors import ConfigError

betas = st.floats(min_value=0.0, max_value=0.999)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(c=finite, n=st.integers(1, 1500), beta=betas)
def test_constant_series_smooths_to_itself(c, n, beta):
    out = ema(np.full(n, c), beta)
    assert np.allclose(out, c, rtol=1e-9, atol=1e-9)
    sm = EmaSmoother(beta)
    assert all(math.isclose(sm.update(c), c, rel_tol=1e-9, abs_tol=1e-9) for _ in range(min(n, 50)))


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(finite, min_size=1, max_size=1200), beta=betas)
def test_vectorised_matches_online(xs, beta):
    sm = EmaSmoother(beta)
    online = np.array([sm.update(x) for x in xs])
    assert np.allclose(ema(xs, beta), online, rtol=1e-9, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(xs=st.lists(finite, min_size=1, max_size=300), beta=betas)
def test_is_a_weighted_average_of_the_prefix(xs, beta):
    # Debiased weights are positive and sum to one, so each value stays inside the
    # range of what came before it.
    out = ema(xs, beta)
    x = np.asarray(xs)
    lo, hi = np.minimum.accumulate(x), np.maximum.accumulate(x)
    tol = 1e-9 * (1 + np.abs(x).max())
    assert (out >= lo - tol).all() and (out <= hi + tol).all()


def test_first_value_is_unbiased_and_matches_fastai_recurrence():
    x = np.array([3.0, 1.0, 2.0, 5.0])
    beta = 0.98
    avg, want = 0.0, []
    for i, v in enumerate(x, start=1):  # fastai's AvgSmoothLoss
        avg = beta * avg + (1 - beta) * v
        want.append(avg / (1 - beta**i))
    assert ema(x, beta)[0] == 3.0
    assert np.allclose(ema(x, beta), want, rtol=1e-12)


def test_nan_and_inf_poison_what_follows():
    out = ema([1.0, 2.0, np.nan, 1.0], 0.9)
    assert np.isfinite(out[:2]).all() and np.isnan(out[2:]).all()
    out = ema([1.0, np.inf, 1.0], 0.9)
    assert np.isinf(out[1:]).all()


def test_edges_and_bad_beta():
    assert ema([], 0.98).size == 0
    assert np.array_equal(ema([1.0, 5.0], 0.0), [1.0, 5.0])
    for bad in (1.0, -0.1, 2, "0.9", True, math.nan):
        with pytest.raises(ConfigError):
            ema([1.0], bad)
        with pytest.raises(ConfigError):
            EmaSmoother(bad)
    sm = EmaSmoother()
    assert math.isnan(sm.value)
    sm.update(2.0)
    sm.reset()
    assert sm.count == 0 and math.isnan(sm.value)
