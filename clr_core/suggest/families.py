"""Optimizer families: what the suggestion code assumes about the optimizer a range test ran.

Three things a suggestion depends on differ between optimizers, and each is looked up here
instead of being guessed from a name in several places:

* **adaptive or not**: whether the step is rescaled by the gradients' own statistics (a
  per-coordinate second moment, a sign, an orthogonalisation), so the LR is not a step length
  along the raw gradient. Batch-size rescaling follows it (`clr_core.suggest.batch_size`:
  linear for SGD, Goyal et al. 2017; square root for adaptive methods, Malladi et al. 2022).
* **which β plays momentum's role** (SGD's ``momentum``, Adam's ``betas[0]``), the β of the
  stability limit and of 1cycle's momentum cycling.
* **whether a stability limit is derived** (``limit``), and if not, why (``reason``):
  - "gd": heavy-ball gradient descent is stable below 2(1+β)/λmax (Cohen et al., "Gradient
    Descent on Neural Networks Typically Occurs at the Edge of Stability", 2021);
  - "nesterov": torch's Nesterov SGD, 2(1+β)/((1+2β)·λmax), from the eigenvalues of the same
    linear iteration on a quadratic (``tests/suggest/test_families.py`` checks it against
    ``torch.optim.SGD`` itself); the heavy-ball limit would be (1+2β) times too high;
  - "adam": Adam and AdamW, (2+2β1)/((1−β1)·λmax(P⁻¹H)) on the sharpness preconditioned by
    the second moment (Cohen et al., "Adaptive Gradient Methods at the Edge of Stability", 2022).
  Nothing is drawn for any other optimizer: a threshold borrowed from another update rule
  would put a line where the optimizer does not diverge.

Families are found by class name along the optimizer's MRO, so a subclass of ``torch.optim.Adam``
is assumed to step as Adam does (and the label says it was assumed from the base class).
torch's classes match only when they come from torch (a third-party class that happens to be
called ``Adam`` is not given Adam's limit, whose measurement reads torch's state); common
third-party optimizers are named by class only, never with a limit. An optimizer found
nowhere is the "unknown" family: no limit, no adaptive-specific reading, and the label says
so. This module needs no torch: it reads class names and ``param_groups`` dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["FAMILIES", "QUARTER_MARGIN", "UNKNOWN", "OptimizerFamily", "family_by_name",
           "family_label", "family_of", "limit_reason", "other_adaptive", "reads_quarter"]

COHEN_2022 = 'Cohen et al., "Adaptive Gradient Methods at the Edge of Stability", 2022'


@dataclass(frozen=True)
class OptimizerFamily:
    """One family. ``key``: its id (stored on a result); ``label``: its name as shown;
    ``adaptive``: None when not known; ``beta``: the param-group entry playing momentum's
    role ("momentum", "betas[0]", "beta1") or None; ``limit``: the stability limit's kind
    (`clr_core.suggest.stability.stability_limit`) or None with ``reason`` saying why;
    ``base``: the class the family was found on when the optimizer is a subclass of it."""

    key: str
    label: str
    adaptive: bool | None
    beta: str | None
    limit: str | None = None
    reason: str = ""
    class_name: str = ""
    base: str = ""

    def beta_value(self, group: Mapping[str, Any]) -> float | None:
        """The β of one param group (None: the family has none, or the group lacks it)."""
        if self.beta == "betas[0]":
            betas = group.get("betas")
            return None if betas is None else float(betas[0])
        if self.beta is None or group.get(self.beta) is None:
            return None
        return float(group[self.beta])


def _fam(key, label, adaptive, beta, limit=None, reason="", class_name=""):
    return OptimizerFamily(key, label, adaptive, beta, limit, reason, class_name)


_NOT_DERIVED = "no edge-of-stability threshold is derived for its update"
_DEFAZIO = 'Defazio et al., "The Road Less Scheduled", 2024'
#: Class name -> family: torch.optim's classes, then common third-party ones by name.
FAMILIES: dict[str, OptimizerFamily] = {f.class_name: f for f in (
    _fam("sgd", "SGD", False, "momentum", "gd", class_name="SGD"),
    _fam("adam", "Adam", True, "betas[0]", "adam", class_name="Adam"),
    _fam("adamw", "AdamW", True, "betas[0]", "adam", class_name="AdamW"),
    _fam("nadam", "NAdam", True, "betas[0]", None,
         f"{COHEN_2022} derive Adam's threshold for its EMA momentum, and NAdam's Nesterov "
         f"look-ahead and momentum-decay schedule change it: {_NOT_DERIVED}", "NAdam"),
    _fam("radam", "RAdam", True, "betas[0]", None,
         "RAdam steps without the second moment for its first steps, then rescales Adam's step "
         f"by a rectification term that changes every step: {_NOT_DERIVED}", "RAdam"),
    _fam("adamax", "Adamax", True, "betas[0]", None,
         "Adamax divides by an infinity-norm estimate, not Adam's second moment, and that "
         f"preconditioner is not measured here: {_NOT_DERIVED}", "Adamax"),
    _fam("rmsprop", "RMSprop", True, "momentum", None,
         "the preconditioned limit of Cohen et al. 2022 would need RMSprop's own "
         "preconditioner (√(square_avg) + ε, centred or not), which is not measured here",
         "RMSprop"),
    _fam("adagrad", "Adagrad", True, None, None,
         "Adagrad's accumulated second moment only grows, so its step shrinks by itself: "
         f"{_NOT_DERIVED}", "Adagrad"),
    _fam("adadelta", "Adadelta", True, None, None,
         f"Adadelta's step is a ratio of two running averages: {_NOT_DERIVED}", "Adadelta"),
    _fam("adafactor", "Adafactor", True, "beta1", None,
         f"Adafactor's factored second moment and relative step size: {_NOT_DERIVED}",
         "Adafactor"),
    _fam("sparse_adam", "SparseAdam", True, "betas[0]", None,
         f"SparseAdam updates only the rows a sparse gradient touches: {_NOT_DERIVED}",
         "SparseAdam"),
    _fam("asgd", "ASGD", False, None, None,
         "ASGD's LR decays on its own schedule and the averaged iterate is what it returns: "
         f"{_NOT_DERIVED}", "ASGD"),
    _fam("rprop", "Rprop", True, None, None,
         f"Rprop steps by the gradient's sign with its own step sizes: {_NOT_DERIVED}", "Rprop"),
    _fam("lbfgs", "L-BFGS", True, None, None,
         "L-BFGS is a quasi-Newton method with a line search: no threshold of this form applies",
         "LBFGS"),
    _fam("muon", "Muon", True, "momentum", None,
         f"Muon orthogonalises its momentum, so the step's size does not follow the curvature: "
         f"{_NOT_DERIVED}", "Muon"),
    # Third-party optimizers, by class name only.
    _fam("lion", "Lion", True, "betas[0]", None,
         f"Lion steps by a sign, the same length whatever the curvature: {_NOT_DERIVED}", "Lion"),
    _fam("sgdw", "SGDW", False, "momentum", None,
         "SGDW's decoupled weight decay and its library's own update are not the SGD whose "
         "threshold is derived; no limit is drawn", "SGDW"),
    _fam("lamb", "LAMB", True, "betas[0]", None,
         f"LAMB rescales Adam's step per layer by a trust ratio: {_NOT_DERIVED}", "Lamb"),
    _fam("sgd_schedulefree", "Schedule-free SGD", False, "momentum", None,
         "schedule-free SGD evaluates the gradient at an interpolation of averaged iterates "
         f"({_DEFAZIO}): {_NOT_DERIVED}", "SGDScheduleFree"),
    _fam("adamw_schedulefree", "Schedule-free AdamW", True, "betas[0]", None,
         "schedule-free AdamW evaluates the gradient at an interpolation of averaged iterates "
         f"({_DEFAZIO}): {_NOT_DERIVED}", "AdamWScheduleFree"),
    _fam("radam_schedulefree", "Schedule-free RAdam", True, "betas[0]", None,
         "schedule-free RAdam evaluates the gradient at an interpolation of averaged iterates "
         f"({_DEFAZIO}): {_NOT_DERIVED}", "RAdamScheduleFree"),
)}
#: Other class names of a family above.
_ALIASES = {"SGDScheduleFreeReference": "SGDScheduleFree",
            "AdamWScheduleFreeReference": "AdamWScheduleFree"}

UNKNOWN = OptimizerFamily(
    "unknown", "unknown", None, None, None,
    "its family is unknown to CLR Studio, so no limit is drawn and the recommendation reads "
    "the curve as for SGD")

_SGD_NESTEROV = replace(FAMILIES["SGD"], key="sgd_nesterov", label="SGD with Nesterov momentum",
                        limit="nesterov")
_SGD_DAMPENED = replace(
    FAMILIES["SGD"], key="sgd_dampened", label="SGD with dampened momentum", limit=None,
    reason="with dampening d the limit is 2(1+β)/((1−d)·λmax), and the plotted limit carries "
           "β only: no limit is drawn")


def _from_torch(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "torch"


def family_of(optimizer: Any) -> OptimizerFamily:
    """The family of an optimizer instance (its first param group decides SGD's variant).
    Never raises: an optimizer found nowhere is `UNKNOWN`, with its class in the reason.
    A class named like torch's but from another library (bitsandbytes' ``Adam``) keeps the
    family without the limit: the limit's measurement reads torch's optimizer state."""
    for cls in type(optimizer).__mro__:
        fam = FAMILIES.get(_ALIASES.get(cls.__name__, cls.__name__))
        if fam is None:
            continue
        groups = getattr(optimizer, "param_groups", None) or [{}]
        group = groups[0] if isinstance(groups[0], Mapping) else {}
        if fam.key == "sgd" and group.get("nesterov"):
            fam = _SGD_NESTEROV
        elif fam.key == "sgd" and group.get("momentum") and group.get("dampening"):
            fam = _SGD_DAMPENED
        if fam.limit and not _from_torch(cls):
            fam = replace(fam, limit=None, reason=f"{cls.__module__}.{cls.__name__} is not "
                          f"torch's {cls.__name__}, whose state the limit's measurement reads")
        if cls is not type(optimizer):
            fam = replace(fam, base=cls.__name__)
        return fam
    return replace(UNKNOWN, reason=f"{type(optimizer).__name__}: {UNKNOWN.reason}")


def family_by_name(key: str | None) -> OptimizerFamily:
    """A family from its ``key`` (as a result stores it), a class name, or the older limit
    kinds ("adam" for Adam/AdamW, "gd" for SGD); `UNKNOWN` for anything else."""
    if not key:
        return UNKNOWN
    key = "sgd" if key == "gd" else str(key)
    by_key = {f.key: f for f in (*FAMILIES.values(), _SGD_NESTEROV, _SGD_DAMPENED)}
    return (by_key.get(key) or FAMILIES.get(_ALIASES.get(key, key)) or by_key.get(key.lower())
            or UNKNOWN)


def limit_reason(family: OptimizerFamily, name: str = "") -> str:
    """Why no stability limit is drawn for ``family`` ("" when one is)."""
    if family.limit is not None:
        return ""
    who = name or family.label
    return f"no stability limit is drawn for {who}: {family.reason.removeprefix(who + ': ')}"


_LIMIT_WORDS = {"gd": "stability limit 2(1+β)/λmax (Cohen et al. 2021)",
                "nesterov": "stability limit 2(1+β)/((1+2β)·λmax), Nesterov's",
                "adam": "stability limit on the preconditioned sharpness (Cohen et al. 2022)"}


def family_label(result: Any) -> str:
    """The one line a page or the CLI prints about the optimizer family a range test assumed:
    its name, adaptive or not, the β of momentum, and whether a stability limit applies.
    ``result``: a `clr_core.engine.results.RangeTestResult` or its dict (anything with
    ``optimizer_family``, ``optimizer_class`` and ``sharpness_beta``)."""
    get = result.get if isinstance(result, Mapping) else lambda k, d=None: getattr(result, k, d)
    key, cls = get("optimizer_family", "") or "", get("optimizer_class", "") or ""
    if not key:
        return "Optimizer family: not recorded (a run saved before families were stored)."
    fam = family_by_name(key)
    if fam is UNKNOWN:
        return (f"Optimizer family assumed: unknown ({cls or 'unnamed class'}): no stability "
                "limit, and the recommendation reads the curve as for SGD.")
    parts = [{True: "adaptive", False: "not adaptive", None: "adaptivity unknown"}[fam.adaptive]]
    beta = get("sharpness_beta")
    if fam.beta is not None and beta is not None:
        parts.append(f"{'momentum' if fam.beta == 'momentum' else 'β1'} {float(beta):g}")
    parts.append(_LIMIT_WORDS.get(get("sharpness_kind") or "", "no stability limit drawn"))
    own = fam.class_name
    via = f" (assumed from its base class {own})" if cls and _ALIASES.get(cls, cls) != own else ""
    return f"Optimizer family assumed: {fam.label}{via}: {', '.join(parts)}."


#: The families the recommendation reads with a quarter of the lowest point instead of a third
#: (`clr_core.suggest.recommend.ADAM_MARGIN`): the ones it was measured on
#: (``bench/suggestions.py``'s Adam and AdamW tasks).
QUARTER_MARGIN = ("adam", "adamw")


def reads_quarter(family: str | None) -> bool:
    """Whether ``recommended`` takes a quarter of the lowest point for ``family`` (a key,
    a class name, or the older "adam"). Only Adam and AdamW: the quarter was chosen on them,
    and the held-out NAdam and RMSprop tasks of issue 31 were already *under*-estimated with
    a third, so a larger margin would move them the wrong way. Other adaptive families keep
    the third until a benchmark says otherwise (the explanation says so)."""
    return family_by_name(family).key in QUARTER_MARGIN


def other_adaptive(family: str | None) -> str:
    """The label of an adaptive family read with a third although adaptive ("" otherwise)."""
    fam = family_by_name(family)
    return fam.label if fam.adaptive and fam.key not in QUARTER_MARGIN else ""
