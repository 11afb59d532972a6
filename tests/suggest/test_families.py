"""Optimizer families (`clr_core.suggest.families`): every torch.optim class has one, with the
right adaptive flag, momentum β and stability limit (or the reason there is none); the limits
are where torch's own optimizers start to diverge; an unknown class never crashes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from clr_core.engine.sharpness import no_limit_reason, optimizer_beta, optimizer_kind
from clr_core.suggest import families as fm
from clr_core.suggest.batch_size import rule_for
from clr_core.suggest.recommend import ADAM_MARGIN, MEDIAN_OF, MIN_MARGIN, recommended
from clr_core.suggest.registry import suggest_all
from clr_core.suggest.stability import stability_limit

OPT = torch.optim
# (class, keyword arguments, family key, adaptive, β expected, limit kind or None)
CASES = [
    (OPT.SGD, {}, "sgd", False, 0.0, "gd"),
    (OPT.SGD, {"momentum": 0.8}, "sgd", False, 0.8, "gd"),
    (OPT.SGD, {"momentum": 0.7, "nesterov": True}, "sgd_nesterov", False, 0.7, "nesterov"),
    (OPT.SGD, {"momentum": 0.9, "dampening": 0.5}, "sgd_dampened", False, 0.9, None),
    (OPT.Adam, {"betas": (0.85, 0.99)}, "adam", True, 0.85, "adam"),
    (OPT.Adam, {"betas": (0.8, 0.99), "amsgrad": True}, "adam", True, 0.8, "adam"),
    (OPT.AdamW, {"betas": (0.9, 0.95)}, "adamw", True, 0.9, "adam"),
    (OPT.NAdam, {"betas": (0.75, 0.999)}, "nadam", True, 0.75, None),
    (OPT.RAdam, {"betas": (0.6, 0.999)}, "radam", True, 0.6, None),
    (OPT.Adamax, {"betas": (0.5, 0.999)}, "adamax", True, 0.5, None),
    (OPT.RMSprop, {}, "rmsprop", True, 0.0, None),
    (OPT.RMSprop, {"momentum": 0.9, "centered": True}, "rmsprop", True, 0.9, None),
    (OPT.Adagrad, {}, "adagrad", True, 0.0, None),
    (OPT.Adadelta, {}, "adadelta", True, 0.0, None),
    (OPT.ASGD, {}, "asgd", False, 0.0, None),
    (OPT.Rprop, {}, "rprop", True, 0.0, None),
    (OPT.LBFGS, {}, "lbfgs", True, 0.0, None),
    (OPT.SparseAdam, {"betas": (0.7, 0.999)}, "sparse_adam", True, 0.7, None),
    (OPT.Adafactor, {}, "adafactor", True, 0.0, None),
    (OPT.Muon, {"momentum": 0.9}, "muon", True, 0.9, None),
]


@pytest.mark.parametrize(("cls", "kwargs", "key", "adaptive", "beta", "limit"), CASES,
                         ids=[f"{c[0].__name__}-{c[2]}-{len(c[1])}" for c in CASES])
def test_every_torch_optimizer_has_its_family(cls, kwargs, key, adaptive, beta, limit):
    model = nn.Linear(4, 3, bias=False)  # 2-D weights: Muon takes nothing else
    opt = cls(model.parameters(), lr=0.01, **kwargs)
    fam = fm.family_of(opt)
    assert (fam.key, fam.adaptive, fam.limit) == (key, adaptive, limit)
    assert optimizer_beta(opt) == pytest.approx(beta)
    assert optimizer_kind(opt) == (limit or "none")
    reason = no_limit_reason(opt)
    if limit is None:  # no line drawn, and the reason names the class
        assert reason.startswith(f"no stability limit is drawn for {cls.__name__}:") and fam.reason
    else:
        assert reason == "" and fm.family_by_name(key).limit == limit


def test_every_class_torch_optim_exports_is_in_the_table():
    classes = [c for c in vars(OPT).values() if isinstance(c, type) and issubclass(c, OPT.Optimizer)
               and c is not OPT.Optimizer]
    missing = [c.__name__ for c in classes if fm.FAMILIES.get(c.__name__) is None]
    assert not missing, f"torch.optim classes without a family: {missing}"


def test_a_subclass_takes_its_base_family_and_says_so():
    class MyAdam(OPT.Adam):
        pass

    opt = MyAdam(nn.Linear(2, 1).parameters(), lr=0.1)
    fam = fm.family_of(opt)
    assert fam.key == "adam" and fam.base == "Adam" and fam.limit == "adam"
    line = fm.family_label({"optimizer_family": "adam", "optimizer_class": "MyAdam",
                            "sharpness_kind": "adam", "sharpness_beta": 0.9})
    assert "assumed from its base class Adam" in line


def test_a_class_named_like_torchs_but_from_elsewhere_gets_no_limit():
    Foreign = type("Adam", (), {"__module__": "bitsandbytes.optim.adam",
                                "param_groups": [{"betas": (0.9, 0.999)}]})
    fam = fm.family_of(Foreign())
    assert fam.key == "adam" and fam.adaptive and fam.limit is None
    assert "not torch's Adam" in fm.limit_reason(fam, "Adam")


@pytest.mark.parametrize(("name", "key", "adaptive"), [
    ("Lion", "lion", True), ("SGDW", "sgdw", False), ("Lamb", "lamb", True),
    ("SGDScheduleFree", "sgd_schedulefree", False), ("AdamWScheduleFree", "adamw_schedulefree", True),
    ("RAdamScheduleFree", "radam_schedulefree", True), ("Adafactor", "adafactor", True)])
def test_third_party_optimizers_by_class_name_never_with_a_limit(name, key, adaptive):
    fam = fm.family_of(type(name, (), {"__module__": "somelib", "param_groups": []})())
    assert (fam.key, fam.adaptive, fam.limit) == (key, adaptive, None) and fam.reason


def test_schedule_free_optimizers_the_app_offers_are_found():
    schedulefree = pytest.importorskip("schedulefree")
    params = list(nn.Linear(2, 1).parameters())
    assert fm.family_of(schedulefree.SGDScheduleFree(params, lr=0.1)).key == "sgd_schedulefree"
    assert fm.family_of(schedulefree.AdamWScheduleFree(params, lr=0.1)).key == "adamw_schedulefree"


@given(st.text(min_size=1, max_size=20).filter(str.isidentifier))
def test_an_unknown_class_is_the_unknown_family_never_a_crash(name):
    obj = type(name, (), {})()
    fam = fm.family_of(obj)
    if fm.FAMILIES.get(name) is None and not name.endswith("ScheduleFreeReference"):
        assert fam.key == "unknown" and fam.limit is None and fam.adaptive is None
        assert name in fam.reason and not fm.reads_quarter(fam.key)


def test_an_unknown_torch_optimizer_runs_with_a_stated_assumption():
    class Mine(OPT.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

    opt = Mine(nn.Linear(2, 1).parameters())
    assert optimizer_kind(opt) == "none" and optimizer_beta(opt) == 0.0
    assert "Mine" in no_limit_reason(opt) and "unknown" in no_limit_reason(opt)
    line = fm.family_label({"optimizer_family": "unknown", "optimizer_class": "Mine"})
    assert "unknown (Mine)" in line and "no stability limit" in line


@settings(max_examples=30)
@given(st.floats(0.0, 0.99), st.floats(0.0, 0.999), st.booleans())
def test_the_beta_is_the_one_given_whatever_its_value(b1, b2, nesterov):
    params = list(nn.Linear(2, 1).parameters())
    for cls in (OPT.Adam, OPT.AdamW, OPT.NAdam, OPT.RAdam, OPT.Adamax):
        opt = cls(params, lr=0.01, betas=(b1, b2))
        assert optimizer_beta(opt) == pytest.approx(b1)
        assert fm.family_of(opt).adaptive is True
    momentum = max(b1, 0.01) if nesterov else b1
    sgd = OPT.SGD(params, lr=0.01, momentum=momentum, nesterov=nesterov)
    assert optimizer_beta(sgd) == pytest.approx(momentum)
    assert fm.family_of(sgd).key == ("sgd_nesterov" if nesterov else "sgd")
    assert optimizer_beta(OPT.RMSprop(params, lr=0.01, momentum=b1)) == pytest.approx(b1)


def _torch_run(lam: float, lr: float, **kwargs) -> float:
    """|w| after torch's SGD on ½·λ·w² from w = 1 (stops once it has clearly blown up or
    settled)."""
    w = nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = OPT.SGD([w], lr=lr, **kwargs)
    for _ in range(3000):
        opt.zero_grad()
        (0.5 * lam * w * w).sum().backward()
        opt.step()
        size = abs(float(w.detach()))
        if size > 1e6 or size < 1e-4:  # clearly blown up, or clearly settled
            break
    return abs(float(w.detach()))


@settings(max_examples=15)
@given(st.floats(0.0, 0.95), st.floats(0.1, 100.0), st.booleans())
def test_the_derived_limit_is_where_torchs_sgd_starts_to_diverge(beta, lam, nesterov):
    """Heavy-ball SGD stable just below 2(1+β)/λ, unstable just above; Nesterov's the same
    about 2(1+β)/((1+2β)λ): the limits are checked against the optimizer, not a formula."""
    nesterov = nesterov and beta > 0
    kind = "nesterov" if nesterov else "gd"
    eta = stability_limit(lam, beta, kind)
    assert _torch_run(lam, 0.97 * eta, momentum=beta, nesterov=nesterov) < 1e-3
    assert _torch_run(lam, 1.03 * eta, momentum=beta, nesterov=nesterov) > 1e3
    if nesterov:  # heavy-ball's limit would be (1 + 2β) times too high for Nesterov
        assert stability_limit(lam, beta, "gd") == pytest.approx((1 + 2 * beta) * eta)


def test_family_label_says_which_family_was_assumed():
    def label(key, kind, beta=0.9, cls=""):
        return fm.family_label({"optimizer_family": key, "sharpness_kind": kind,
                                "sharpness_beta": beta, "optimizer_class": cls})

    assert label("adamw", "adam") == ("Optimizer family assumed: AdamW: adaptive, β1 0.9, "
                                      "stability limit on the preconditioned sharpness "
                                      "(Cohen et al. 2022).")
    assert "SGD with Nesterov momentum: not adaptive, momentum 0.9" in label("sgd_nesterov",
                                                                              "nesterov")
    assert label("nadam", "none").endswith("NAdam: adaptive, β1 0.9, no stability limit drawn.")
    assert "Adagrad: adaptive, no stability limit drawn" in label("adagrad", "none", 0.0)
    assert "not recorded" in fm.family_label({})


def test_every_key_round_trips_and_the_older_kinds_still_name_a_family():
    for fam in fm.FAMILIES.values():
        assert fm.family_by_name(fam.key).key == fam.key
    assert fm.family_by_name("adam").key == "adam" and fm.family_by_name("gd").key == "sgd"
    assert fm.family_by_name("none") is fm.UNKNOWN and fm.family_by_name(None) is fm.UNKNOWN


def _curve():
    u = np.linspace(-5, 1, 300)
    return 10.0**u, 2 - np.tanh((u + 3) / 0.5) + np.exp(4 * (u + 0.5))


def test_the_quarter_margin_is_read_for_adam_and_adamw_only():
    lrs, loss = _curve()
    rules = suggest_all(lrs, loss, skip_start=0, skip_end=0)
    rules = {k: v for k, v in rules.items() if k not in MEDIAN_OF}  # the two readings alone
    got = {f: recommended(lrs, loss, rules, family=f) for f in ("adam", "adamw", "nadam", "sgd",
                                                                 "rmsprop", None)}
    ratio = math.log10(got["sgd"].max_lr / got["adamw"].max_lr)
    assert ratio == pytest.approx(math.log10(ADAM_MARGIN / MIN_MARGIN) / 2, abs=1e-9)
    assert got["adam"].max_lr == got["adamw"].max_lr
    assert got["nadam"].max_lr == got["sgd"].max_lr == got["rmsprop"].max_lr == got[None].max_lr
    assert "NAdam is adaptive, but the quarter was measured on Adam and AdamW only" in \
        got["nadam"].explanation
    assert "measured on Adam and AdamW only" not in got["sgd"].explanation


@pytest.mark.parametrize(("name", "rule"), [("asgd", "linear"), ("sgdw", "linear"),
                                             ("nadam", "sqrt"), ("adagrad", "sqrt"),
                                             ("sgd_nesterov", "linear"), ("RMSprop", "sqrt")])
def test_the_batch_size_rule_follows_the_family(name, rule):
    assert rule_for(name) == rule


def test_the_dampened_limit_the_reason_states_is_where_torchs_sgd_diverges():
    """SGD with dampening is left without a line, but its reason quotes 2(1+β)/((1−d)·λmax):
    checked here against torch's SGD so the words are true."""
    opt = OPT.SGD(nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9, dampening=0.5)
    assert "2(1+β)/((1−d)·λmax)" in no_limit_reason(opt)
    lam, beta, d = 2.0, 0.9, 0.5
    eta = 2 * (1 + beta) / ((1 - d) * lam)
    assert _torch_run(lam, 0.97 * eta, momentum=beta, dampening=d) < 1e-3
    assert _torch_run(lam, 1.03 * eta, momentum=beta, dampening=d) > 1e3
