"""Learning-rate (and momentum) schedules as pure, vectorised functions of the iteration.

One module per family; each policy is a `Schedule` subclass that declares its spec,
checks, closed form and code export, and registers itself when its module is imported.
Build schedules with `make_schedule` or `from_dict`; both validate, and every bad input
raises `ScheduleError` naming the parameter and the rule. Where PyTorch has the policy
(CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts) the float64 arithmetic follows its
source, so the two agree step for step.

Inside, imports run downward only: spec -> registry -> codegen, trace, shapes, ramp ->
torch_adapter -> base -> families -> presets, exports, rules (the papers' rules of thumb).

May import: ``validation``, ``jsonsafe``, ``errors`` (and torch, for the adapter).

``__all__`` is what users call: `make_schedule` and `from_dict`, the `Schedule` they return,
the `POLICIES` and `PRESETS` catalogues, the specs a new policy declares, and the
``exports`` (Hugging Face, timm, Lightning code) and ``rules`` (rules of thumb) modules.
"""

from __future__ import annotations

# isort: off
# the registry lists policies in import order: the designer's menu order
from clr_core.schedules import cyclic, windows, one_cycle, cosine, decays  # noqa: F401
from clr_core.schedules import warmup, polynomial, wsd, timm_cosine, compose  # noqa: F401
# isort: on
from clr_core.schedules.base import Schedule
from clr_core.schedules.presets import PRESETS, Preset
from clr_core.schedules.registry import POLICIES, from_dict, make_schedule
from clr_core.schedules.spec import ParamSpec, PolicySpec

__all__ = [
    "POLICIES",
    "PRESETS",
    "ParamSpec",
    "PolicySpec",
    "Preset",
    "Schedule",
    "exports",
    "from_dict",
    "make_schedule",
    "rules",
]
