"""Suggested learning rates as pure functions of a range test's curve, ``(lrs, losses)`` in,
numbers out: no torch, no store, no jobs.

``types`` (the `Suggestion` and the helpers every rule shares), ``fastai`` and ``peers`` (the
published rules, by origin), ``recommend`` (our ``recommended`` bound and its band; numbers and names only, the sentences
users read are worded in ``clr_core.present.words``),
``registry`` (``SUGGESTERS`` and ``suggest_all``), ``stability`` (how far a suggestion moves
between seeds), ``families`` (what each optimizer is assumed to be), ``handoff`` (a suggestion as a schedule for the designer).

May import: ``clr_core.schedules`` (the rules of thumb for base_lr), ``validation``,
``jsonsafe``, ``errors``.

``__all__`` is what users call: every rule (`suggest_all` runs them all, `SUGGESTERS` lists
them), the `Suggestion` each returns, combining seeds, a suggestion as a schedule, its fit
to a planned schedule (``schedule_fit``) and the measured regret. The labels, sentences and
constants the pages and the CLI use are private.
"""

from __future__ import annotations

# Re-exports: __all__ names the public ones; the others stay importable from here (the
# app's pages, the CLI and earlier scripts import them so), but are private.
from clr_core.suggest.families import OptimizerFamily, family_by_name, family_label, family_of  # noqa: F401
from clr_core.suggest.fastai import minimum, slide, steep, valley
from clr_core.suggest.handoff import HANDOFF_POLICIES, suggestion_to_schedule  # noqa: F401
from clr_core.suggest.peers import min10_base6, smith_accuracy, steepest_gradient
from clr_core.suggest.recommend import (  # noqa: F401
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
from clr_core.suggest.registry import SUGGESTERS, SuggesterSpec, suggest_all  # noqa: F401
from clr_core.suggest.stability import StabilitySummary, summarize_stability
from clr_core.suggest.types import (  # noqa: F401
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
    measured_confidence,
    measured_regret,
    x_axis,
)

__all__ = [
    "OptimizerFamily",
    "SUGGESTERS",
    "StabilitySummary",
    "Suggestion",
    "combine_recommended",
    "family_label",
    "family_of",
    "measured_confidence",
    "measured_regret",
    "min10_base6",
    "minimum",
    "recommended",
    "schedule_fit",
    "rule_spread",
    "slide",
    "smith_accuracy",
    "steep",
    "steepest_gradient",
    "suggest_all",
    "suggestion_to_schedule",
    "summarize_stability",
    "valley",
]
