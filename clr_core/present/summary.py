"""A range test read out once: `RangeTestSummary`, computed by `summarize` from a result and
the run's config, and printed by every surface that shows a range test (the range-test page
and the Runs page through ``ui/results.py``, the CLI, the run list's stored headline, a
notebook's ``result.summary()`` and ``_repr_html_``), so none of them works a number or a
sentence out again and they cannot disagree.

The numbers come from `clr_core.suggest` (the suggestions, their confidence, the rules'
spread, the hand-off's fitted peak); the sentences from `clr_core.present.words`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clr_core.engine.results import RangeTestResult
from clr_core.present.words import (
    Advice,
    advice,
    band_text,
    disagreement,
    headline,
    other_rules,
    sweep_ok_line,
)
from clr_core.suggest.batch_size import rule_for
from clr_core.suggest.families import family_label
from clr_core.suggest.handoff import VERIFY_ITERS, short_label, verify_schedule
from clr_core.suggest.recommend import RECOMMENDED
from clr_core.suggest.types import Suggestion

__all__ = ["FAMILY_LABELS", "RangeTestSummary", "SummaryWarning", "default_policy", "fitted_peak",
           "momentum_of", "result_headline", "summarize"]

#: The optimizer family a recommendation was read for (`RangeTestResult.sharpness_kind`):
#: the adaptive family's upper reading keeps more margin (`clr_core.suggest.recommend`).
FAMILY_LABELS = {
    "gd": "SGD family (upper reading: a third of the lowest loss's LR)",
    "adam": "adaptive, Adam or AdamW (upper reading: a quarter of the lowest loss's LR)",
    "none": "not Adam or SGD: read as the SGD family (a third of the lowest loss's LR)",
}
NO_SUGGESTION = ("No suggestion: the curve is too short or flat. Widen the LR range or run "
                 "more iterations.")
TOO_SHORT = "the curve is too short or too flat to read a learning rate off it."


@dataclass(frozen=True)
class SummaryWarning:
    """One thing the reader must know before acting: ``code`` says which (machines and
    tests read it), ``lead`` and ``text`` say it ("" lead: the text stands alone).
    Codes: "unreliable", "still_falling", "past_divergence", "low_confidence" (the
    recommendation's own, the same words as `advice`), "disagreement" (the rules span more
    than half a decade), "no_suggestion" (the curve gave no rule an answer). ``reasons``:
    the recommendation's own codes (`clr_core.suggest.confidence.REASON_CODES`) behind it."""

    code: str
    lead: str
    text: str
    reasons: tuple[str, ...] = ()  # the recommendation's reason codes behind this one

    def __str__(self) -> str:
        return f"{self.lead}: {self.text}" if self.lead else self.text


def momentum_of(config: Mapping | None) -> float:
    """Heavy-ball momentum β of a run, for the 2(1+β)/λmax limit (0 for other optimizers):
    read from the run's config, so a reopened run says what it said live."""
    config = config or {}
    return float(config.get("momentum") or 0.0) if config.get("optimizer", "sgd") == "sgd" else 0.0


def default_policy(optimizer: str | None) -> str:
    """The schedule a suggestion is handed to by default: Adam and AdamW train with warm-up +
    cosine today, the SGD family with Smith's triangular CLR."""
    return "warmup_cosine" if rule_for(str(optimizer or "sgd")) == "sqrt" else "triangular"


def fitted_peak(s: Suggestion, policy: str, num_iter: int = VERIFY_ITERS) -> float:
    """The max_lr Verify trains ``policy`` at for suggestion ``s`` (warm-up + cosine and WSD
    move it to keep 1cycle's mean LR; the others keep it)."""
    return float(verify_schedule(policy, max_lr=s.max_lr, num_iter=num_iter,
                                 base_lr=s.base_lr)["max_lr"])


@dataclass(frozen=True)
class RangeTestSummary:
    """What a range test says, every field read off the same result once.

    ``headline``: the one line (the CLI's second line, the run list's, a notebook's first);
    ``advice``: the page's lead sentences (None without a recommendation); ``confidence``
    and ``caveat``: the recommendation's ("none" without one); ``band``: (low, high) or None;
    ``group_lrs``: each param group's LR at the recommended max_lr, () with one group;
    ``warnings``: `SummaryWarning` s, the recommendation's first; ``handoff_policy`` and
    ``handoff_peak``: the schedule the recommendation goes to by default and the peak Verify
    trains it at; ``other_rules``: the other rules' rows (`clr_core.present.words.other_rules`);
    ``regret_shown``: whether the benchmark's accuracy regret applies (not for a model scored
    by its loss); ``optimizer_family``: the family the recommendation was read for."""

    headline: str
    recommendation: Suggestion | None
    advice: Advice | None
    confidence: str
    caveat: str
    band: tuple[float, float] | None
    group_lrs: tuple[float, ...]
    reference_group: int
    warnings: tuple[SummaryWarning, ...]
    handoff_policy: str
    handoff_peak: float | None
    other_rules: tuple[dict, ...]
    regret_shown: bool
    optimizer_family: str
    stability_beta: float
    run_line: str
    divergence_note: str = ""
    settings_used: Mapping[str, Any] = field(default_factory=dict)
    #: `clr_core.suggest.families.family_label`'s line: the family the limit and the margin
    #: assumed ("" for a run saved before families were stored)
    family_line: str = ""
    #: For an "ok" recommendation, what "ok" meant on the benchmark's held-out tasks and that
    #: Confirm checks it (`clr_core.present.words.sweep_ok_line`; "" otherwise: the advice
    #: already says why it is not "ok")
    trust_line: str = ""

    @property
    def sentence(self) -> str | None:
        """The plain sentence that says what to do ("Train with max_lr 0.0123; …")."""
        return self.advice.sentence if self.advice is not None else None

    @property
    def primary(self) -> bool:
        """Whether the recommendation is confident enough for the primary action."""
        return self.advice is not None and self.advice.primary

    @property
    def band_text(self) -> str | None:
        return band_text(*self.band) if self.band else None

    @property
    def handoff_fitted(self) -> bool:
        """The default hand-off trains at a peak other than the recommended max_lr."""
        rec = self.recommendation
        return (rec is not None and self.handoff_peak is not None
                and abs(self.handoff_peak / rec.max_lr - 1) > 1e-9)

    @property
    def handoff_text(self) -> str | None:
        """"WSD at max_lr 0.02 (the suggested 0.03, fitted)", as Verify's button says it."""
        if self.recommendation is None or self.handoff_peak is None:
            return None
        fitted = (f" (the suggested {self.recommendation.max_lr:.3g}, fitted)"
                  if self.handoff_fitted else "")
        return f"{short_label(self.handoff_policy)} at max_lr {self.handoff_peak:.3g}{fitted}"

    @property
    def groups_line(self) -> str | None:
        if not self.group_lrs:
            return None
        return ("per-group LRs at the recommendation (your groups' ratios kept): "
                + ", ".join(f"group {i} {lr:.3g}" for i, lr in enumerate(self.group_lrs)))

    def warning(self, code: str) -> SummaryWarning | None:
        return next((w for w in self.warnings if w.code == code), None)

    def lines(self) -> list[str]:
        """The summary as plain lines: what the CLI prints and ``str`` joins."""
        out = [self.run_line, self.headline]
        rec = self.recommendation
        if self.advice is not None:
            out.append("  " + self.advice.text)
        if self.trust_line:
            out.append("  " + self.trust_line)
        if rec is not None and rec.explanation:
            out.append("  " + rec.explanation)
        if self.groups_line:
            out.append("  " + self.groups_line)
        out += ["  warning: " + w.text for w in self.warnings
                if w.code in ("disagreement", "no_suggestion")]
        if self.handoff_text:
            out.append(f"  default hand-off: {self.handoff_text}")
        if rec is not None:
            out.append(f"  read for: {FAMILY_LABELS.get(self.optimizer_family, self.optimizer_family)}")
        if self.family_line:
            out.append("  " + self.family_line)
        if self.divergence_note:
            out.append("  note: " + self.divergence_note)
        if self.settings_used:
            used = ", ".join(f"{k}={'off' if v is None else v}" for k, v in self.settings_used.items())
            out.append(f"settings used: {used}")
        return out

    def __str__(self) -> str:
        rows = [f"  {r['rule']}: max_lr {r['max_lr']:.3g}, base_lr {r['base_lr']:.3g}"
                for r in self.other_rules]
        return "\n".join(self.lines() + (["other rules:", *rows] if rows else []))

    def _repr_html_(self) -> str:
        """The summary for Jupyter: the headline in bold, the advice, the warnings, the
        other rules as a table (every text escaped: captions and labels can hold user text)."""
        e = html.escape
        parts = [f"<p><b>{e(self.headline)}</b></p>"]
        if self.advice is not None:
            parts.append(f"<p>{e(self.advice.text)}</p>")
        parts += [f"<p>⚠️ {e(str(w))}</p>" for w in self.warnings
                  if w.code in ("disagreement", "no_suggestion")]
        rest = [x.strip() for x in self.lines()[3 if self.advice is not None else 2:]
                if not x.startswith("  warning: ")]  # said above, with their sign
        parts.append("<p style='color:#555'>" + "<br>".join(e(x) for x in [self.run_line, *rest])
                     + "</p>")
        if self.other_rules:
            rows = "".join(f"<tr><td>{e(r['rule'])}</td><td>{r['max_lr']:.3g}</td>"
                           f"<td>{r['base_lr']:.3g}</td><td>{e(str(r['confidence']))}</td></tr>"
                           for r in self.other_rules)
            parts.append("<table><tr><th>other rule</th><th>max_lr</th><th>base_lr</th>"
                         f"<th>confidence</th></tr>{rows}</table>")
        return "<div class='clr-range-test-summary'>" + "".join(parts) + "</div>"


def result_headline(rt: RangeTestResult) -> str:
    """The one line a range test is listed under (the run list, the CLI): the recommendation's
    `clr_core.present.words.headline`, else the first rule's answer, else why there is none."""
    line = headline(rt.suggestions)
    if line is not None:
        return line
    s = next(iter(rt.suggestions.values()), None)
    if s is None:
        return f"no suggestion ({rt.stop_reason})"
    return f"{s.method}: max_lr {s.max_lr:.3g}, base_lr {s.base_lr:.3g}"


def _warnings(rec: Suggestion | None, said: Advice | None, rt: RangeTestResult) -> list:
    out = []
    if rec is None and not rt.running:
        out.append(SummaryWarning("unreliable", "No reliable recommendation", TOO_SHORT))
    if not rt.suggestions and not rt.running:
        out.append(SummaryWarning("no_suggestion", "", NO_SUGGESTION))
    if said is not None and said.warning:
        code = ("unreliable" if not rec.reliable else "still_falling" if rec.still_falling
                else "past_divergence" if rec.past_divergence else "low_confidence")
        out.append(SummaryWarning(code, said.warning_lead, said.warning, rec.reasons))
    _, text = disagreement(rt.suggestions)
    if text:
        out.append(SummaryWarning("disagreement", "", text))
    return out


def summarize(rt: RangeTestResult, config: Mapping | None = None, *,
              scored_by_loss: bool | None = None) -> RangeTestSummary:
    """The summary of a range test. ``config``: the run's (its optimizer picks the default
    hand-off, its momentum names the stability limit; a script's run without one reads as
    SGD). ``scored_by_loss``: the model has no accuracy to lose (a language model), so the
    benchmark's accuracy regret is not shown; None: judged from the result alone (validation
    rows without accuracy), `clr_core.setup.data_catalogue.scored_by_loss` also reads the
    dataset."""
    config = config or {}
    rec = rt.suggestions.get(RECOMMENDED)
    said = advice(rec) if rec is not None else None
    policy = default_policy(config.get("optimizer")
                            or ("adamw" if rt.sharpness_kind == "adam" else "sgd"))
    momentum = momentum_of(config)
    by_loss = rt.validated_without_accuracy if scored_by_loss is None else scored_by_loss
    return RangeTestSummary(
        headline=result_headline(rt),
        recommendation=rec,
        advice=said,
        confidence=rec.confidence if rec is not None else "none",
        caveat=(rec.caveat if rec is not None else TOO_SHORT),
        band=(rec.low, rec.high) if rec is not None and rec.has_band else None,
        group_lrs=tuple(rt.group_lrs(rec.max_lr)) if rec is not None and len(rt.group_scales) > 1
        else (),
        reference_group=rt.reference_group,
        warnings=tuple(_warnings(rec, said, rt)),
        handoff_policy=policy,
        handoff_peak=fitted_peak(rec, policy) if rec is not None and math.isfinite(rec.max_lr)
        and rec.max_lr > 0 else None,
        other_rules=tuple(other_rules(rt.suggestions)),
        regret_shown=not by_loss,
        optimizer_family=rt.sharpness_kind,
        family_line=family_label(rt) if getattr(rt, "optimizer_family", "") else "",
        trust_line=(sweep_ok_line() or "") if rec is not None and rec.confidence == "ok" else "",
        stability_beta=momentum if rt.sharpness_beta is None else float(rt.sharpness_beta),
        run_line=(f"range test: {rt.iterations} of {rt.num_iter} steps, lr {rt.start_lr:.3g} to "
                  f"{rt.end_lr:.3g} ({rt.mode}), stopped: {rt.stop_reason}"),
        divergence_note=rt.divergence_note,
        settings_used=dict(rt.settings_used),
    )
