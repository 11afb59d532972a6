"""The sentences a range test's suggestions are read out in: the headline, the advice that
leads a recommendation, the band, the other rules' rows and the disagreement warning.

Worded here, above the suggestion layer that computes the numbers they say
(`clr_core.suggest`: suggestions, their confidence, `rule_spread`), so the page, the CLI, the
run list and a notebook say one thing in one way: `clr_core.present.summary` gathers them
once per result and every surface prints its fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from clr_core.suggest.confidence import RAISE_END_FACTOR, divergence_phrase
from clr_core.suggest.confirm import AGREE_FACTOR, agrees
from clr_core.suggest.recommend import RECOMMENDED, rule_label, rule_spread
from clr_core.suggest.types import Suggestion, measured_confidence, measured_regret

__all__ = ["Advice", "advice", "agreement_line", "band_text", "disagreement", "headline",
           "other_rules", "sweep_ok_line"]


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _fields(s) -> dict:
    """A suggestion or its stored dict (older runs may lack some keys) as a plain dict."""
    return s.to_dict() if isinstance(s, Suggestion) else dict(s)


def band_text(low: float, high: float) -> str:
    """A band as the pages print it, short enough for a metric tile."""
    return f"{low:.3g}–{high:.3g}"


@dataclass(frozen=True)
class Advice:
    """What a page leads a usable recommendation with, every sentence read off the same
    suggestion so they cannot disagree, in plain text (the page escapes it and sets each
    ``*_lead`` in bold): the warning (``warning_lead``: ``warning``; both "" when there is
    none) above the action (``action_lead`` then ``action``); ``primary``: whether "Use in
    designer" is the page's primary button."""

    warning_lead: str
    warning: str
    action_lead: str
    action: str
    primary: bool

    @property
    def text(self) -> str:
        """Everything said, in order, as one plain string (the CLI, a notebook, the tests)."""
        parts = [f"{self.warning_lead}: {self.warning}" if self.warning_lead else self.warning,
                 self.sentence]
        return " ".join(p for p in parts if p)

    @property
    def sentence(self) -> str:
        """The action alone, the plain sentence that says what to do with the number."""
        return f"{self.action_lead}{self.action}"


def advice(s: Suggestion) -> Advice:
    """The headline sentences for a recommendation. A sweep that ended
    while the loss still fell says how far to raise End LR; a max_lr past the divergence
    says so instead of "train with it"; a band reaching past the divergence claims a
    falling loss only up to it. Only a confident one keeps the primary button."""
    base = f" For a cyclical schedule start at base_lr {_fmt(s.base_lr)}."
    if not s.reliable:
        return Advice("No reliable recommendation", s.caveat or "the curve does not support one.",
                      f"The rules' best guess, not to train with unchecked: max_lr {_fmt(s.max_lr)}",
                      ".", primary=False)
    div = s.diverge_lr if math.isfinite(s.diverge_lr) else math.inf
    if s.still_falling:
        raise_to = s.still_falling_at * RAISE_END_FACTOR
        return Advice(
            "The sweep ended too early",
            f"the loss is still falling at the last LR {_fmt(s.still_falling_at)}: raise End LR "
            f"to at least {_fmt(raise_to)} ({RAISE_END_FACTOR:g}×) and run the test again.",
            f"max_lr {_fmt(s.max_lr)} is a lower bound",
            ", not a value to train with: the loss had not turned up by the end of the sweep, "
            "so the good region may lie higher." + base,
            primary=False)
    if s.past_divergence:
        where = divergence_phrase(div, s.diverge_source)
        rest = s.caveat.replace(f"Its max_lr lies past {where}.", "").strip()
        return Advice(
            "Past the divergence",
            f"max_lr {_fmt(s.max_lr)} lies past {where}." + (f" {rest}" if rest else ""),
            f"Do not train with max_lr {_fmt(s.max_lr)} unchecked",
            f": train below {_fmt(div)}, or Verify {_fmt(s.max_lr)} against a fixed LR first."
            + base,
            primary=False)
    low = s.confidence == "low" and bool(s.caveat)
    band = ""
    if s.has_band and s.high > div:
        band = (f"; between {_fmt(s.low)} and {_fmt(div)} the loss is still falling fast, so "
                f"any max_lr there should train about as well; past {_fmt(div)} the test "
                "diverged")
    elif s.has_band:
        band = (f"; between {_fmt(s.low)} and {_fmt(s.high)} the loss is still falling fast, so "
                "any max_lr there should train about as well")
    return Advice("Low confidence" if low else "", s.caveat if low else "",
                  f"Train with max_lr {_fmt(s.max_lr)}", band + "." + base, primary=True)


def headline(suggestions: Mapping) -> str | None:
    """One line leading a range test: the recommended bounds and band, "No reliable
    recommendation" with the reason when the curve cannot support one, or None."""
    s = suggestions.get(RECOMMENDED)
    if s is None:
        return None
    s = _fields(s)
    if s.get("confidence") == "none":
        return f"No reliable recommendation: {s.get('caveat') or 'the curve does not support one.'}"
    low, high = s.get("low"), s.get("high")
    ok = low is not None and high is not None and math.isfinite(low) and math.isfinite(high)
    band = f" (band {_fmt(low)} to {_fmt(high)})" if ok else ""
    line = f"Recommended max_lr {_fmt(s['max_lr'])}{band}, base_lr {_fmt(s['base_lr'])}"
    falling = s.get("still_falling_at")
    if falling is not None and math.isfinite(falling):
        line += (f"; a lower bound: the loss is still falling at the last LR {_fmt(falling)}: "
                 f"raise End LR to at least {_fmt(falling * RAISE_END_FACTOR)} "
                 f"({RAISE_END_FACTOR:g}×)")
    elif s.get("past_divergence") and s.get("diverge_lr") is not None:
        line += (f"; past {divergence_phrase(s['diverge_lr'], s.get('diverge_source', ''))}: "
                 "verify it before training")
    return line


def other_rules(suggestions: Mapping) -> list[dict]:
    """The rules beside ``recommended``, each labelled by origin with the regret the
    benchmark measured for it (worst and mean points lost; None when not measured)."""
    regret = measured_regret()
    rows = []
    for name, s in suggestions.items():
        if name == RECOMMENDED:
            continue
        s = _fields(s)
        r = regret.get(name, {})
        past = " (past the LR where the test diverged)" if s.get("past_divergence") else ""
        rows.append({
            "rule": rule_label(name) + past, "method": name, "max_lr": s["max_lr"],
            "confidence": s.get("confidence", "ok"), "past divergence": bool(s.get("past_divergence")),
            "base_lr": s["base_lr"], "worst regret (points)": r.get("worst"),
            "mean regret (points)": r.get("mean"), "explanation": s.get("explanation", ""),
            "source": s.get("source", ""),
        })
    return rows


def disagreement(suggestions: Mapping) -> tuple[float, str | None]:
    """(decades between the highest and lowest loss-rule max_lr, a warning when the rules
    are further apart than `clr_core.suggest.recommend.DISAGREE_DECADES`): rules that far
    apart cannot all be right."""
    spread = rule_spread(suggestions)
    if not spread.wide:
        return spread.decades, None
    return spread.decades, (
        f"The rules disagree by {spread.decades:.1f} decades ({_fmt(spread.low)} to "
        f"{_fmt(spread.high)}): at most one end can be right. The recommended value sits where "
        "the benchmark found the good region; run the seed sweep or Verify to check it on your "
        "model."
    )


def _share(d: dict, key: str = "within") -> str:
    """A measured share in percent, with its standard error where the benchmark gave one."""
    se = d.get(f"{key}_se")
    return f"{100 * float(d[key]):.0f} %" + (f" ± {100 * float(se):.0f}" if se is not None else "")


def agreement_line(best_peak: float, sweep_pick: float | None,
                   trainings: float | None = None) -> str | None:
    """Whether the trainings and the sweep agree (`clr_core.suggest.confirm.agrees`), and
    what that meant on the benchmark's held-out tasks for a confirmation of that cost
    (``trainings``; None: the default's); None with nothing to compare."""
    agree = agrees(best_peak, sweep_pick)
    if agree is None:
        return None
    measured = measured_confidence()
    if trainings is not None:  # that cost's own figures, or none (another cost's would mislead)
        measured = measured.get("by_cost", {}).get(f"{trainings:g}", {})
    said = measured.get("agree" if agree else "disagree")
    if agree:
        line = f"The trainings agree with the sweep (within {AGREE_FACTOR:g}×)"
        return line + (f": where they agreed on {said['n']} held-out benchmark tasks, the "
                       f"confirmed peak was within 1 point / 2 % of the best on {_share(said)}."
                       if said else ".")
    line = (f"The trainings and the sweep disagree (more than {AGREE_FACTOR:g}× apart): go by "
            "the trainings")
    if said:
        line += (f" (where they disagreed on {said['n']} held-out benchmark tasks, the confirmed "
                 f"peak was within 1 point / 2 % of the best on {_share(said)}, the sweep's "
                 f"pick on {_share(said, 'sweep_within')})")
    return line + f", or train in full at both {best_peak:.3g} and {sweep_pick:.3g} to settle it."


def sweep_ok_line() -> str | None:
    """What a sweep's "ok" meant on the benchmark's held-out tasks, pointing to Confirm;
    None when it has not been measured."""
    ok = measured_confidence().get("ok")
    if not ok:
        return None
    return (f"A sweep's \"ok\" says its curve reads cleanly, not that the pick is your "
            f"training's best: on {ok['n']} held-out benchmark tasks where it said \"ok\", the "
            f"pick was within 1 point / 2 % of the best peak on {_share(ok)}. Confirm checks it.")
