"""Suggested learning rates as pure functions of a range test's curve, ``(lrs, losses)`` in,
numbers out: no torch, no store, no jobs.

``types`` (the `Suggestion` and the helpers every rule shares), ``fastai`` and ``peers`` (the
published rules, by origin), ``recommend`` (our ``recommended`` bound and its band; numbers and names only, the sentences
users read are worded in ``clr_core.present.words``),
``registry`` (``SUGGESTERS`` and ``suggest_all``), ``stability`` (how far a suggestion moves
between seeds), ``handoff`` (a suggestion as a schedule for the designer).

May import: ``clr_core.schedules`` (the rules of thumb for base_lr), ``validation``,
``jsonsafe``, ``errors``.
"""

from __future__ import annotations

from clr_core.suggest.fastai import minimum, slide, steep, valley
from clr_core.suggest.handoff import HANDOFF_POLICIES, suggestion_to_schedule
from clr_core.suggest.peers import min10_base6, smith_accuracy, steepest_gradient
from clr_core.suggest.recommend import (
    DISAGREE_DECADES,
    MAX_BAND_DECADES,
    MIN_BAND_DECADES,
    MIN_MARGIN,
    RECOMMENDED,
    RULE_LABELS,
    SRC_RECOMMENDED,
    RuleSpread,
    combine_recommended,
    recommended,
    rule_label,
    rule_spread,
)
from clr_core.suggest.registry import SUGGESTERS, SuggesterSpec, suggest_all
from clr_core.suggest.stability import StabilitySummary, summarize_stability
from clr_core.suggest.types import (
    CLR_BASE_DIVISOR,
    CLR_RULE,
    MIN10_BASE_DIVISOR,
    REGRET_FILE,
    SRC_FASTAI,
    SRC_MIN10,
    SRC_PEERS,
    SRC_SMITH,
    Suggestion,
    finite_prefix,
    fmt_lr,
    make_suggestion,
    measured_regret,
    x_axis,
)

__all__ = [
    "CLR_BASE_DIVISOR",
    "CLR_RULE",
    "DISAGREE_DECADES",
    "HANDOFF_POLICIES",
    "MAX_BAND_DECADES",
    "MIN10_BASE_DIVISOR",
    "MIN_BAND_DECADES",
    "MIN_MARGIN",
    "RECOMMENDED",
    "REGRET_FILE",
    "RULE_LABELS",
    "RuleSpread",
    "SRC_FASTAI",
    "SRC_MIN10",
    "SRC_PEERS",
    "SRC_RECOMMENDED",
    "SRC_SMITH",
    "SUGGESTERS",
    "StabilitySummary",
    "SuggesterSpec",
    "Suggestion",
    "combine_recommended",
    "finite_prefix",
    "fmt_lr",
    "make_suggestion",
    "measured_regret",
    "min10_base6",
    "minimum",
    "recommended",
    "rule_label",
    "rule_spread",
    "slide",
    "smith_accuracy",
    "steep",
    "steepest_gradient",
    "suggest_all",
    "suggestion_to_schedule",
    "summarize_stability",
    "valley",
    "x_axis",
]
