"""Tables for people: a range test's suggestions as rows with display column names, shown
by the range-test page and printed by the CLI."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clr_core.engine.results import RangeTestResult
from clr_core.present.summary import RangeTestSummary
from clr_core.present.words import other_rules
from clr_core.suggest.recommend import rule_label

__all__ = ["REGRET_COLUMNS", "leaders", "rules_frame", "stability_note", "stability_table",
           "suggestions_table", "summary_table"]

#: The benchmark's regret: validation-accuracy points lost on its classification tasks.
REGRET_COLUMNS = ("worst regret (points)", "mean regret (points)")


def rules_frame(rows, *, regret: bool = True) -> pd.DataFrame:
    """Rows of `clr_core.present.words.other_rules` (a summary's ``other_rules``) as a table
    with display columns; ``regret=False``: without the benchmark's accuracy regret (a model
    scored by its loss)."""
    cols = ["rule", "max_lr", "base_lr", "confidence", *(REGRET_COLUMNS if regret else ()),
            "explanation", "source"]
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)


def summary_table(summary: RangeTestSummary) -> pd.DataFrame:
    """A summary's other rules as the page and the CLI show them: with the benchmark's
    regret only where it applies (``summary.regret_shown``)."""
    return rules_frame(summary.other_rules, regret=summary.regret_shown)


def suggestions_table(range_test: RangeTestResult | Mapping, *,
                      regret: bool = True) -> pd.DataFrame:
    """A range test's rules other than ``recommended``, one row each, labelled by origin,
    with the regret the suggestion benchmark measured (its dict form is read back);
    ``regret=False``: without it (a task scored by loss,
    `clr_core.setup.data_catalogue.scored_by_loss`)."""
    rt = range_test if isinstance(range_test, RangeTestResult) else RangeTestResult.from_dict(range_test)
    return rules_frame(other_rules(rt.suggestions), regret=regret)


def stability_table(stability: Mapping) -> pd.DataFrame:
    """A seed sweep's spread of each rule's max_lr (``SweepReport.stability``), one row per
    rule named as every other table names it ("torch-lr-finder steepest gradient", not
    ``steepest_gradient``), smallest spread first."""
    cols = ["rule", "median max_lr", "min", "max", "spread (decades)", "runs"]
    rows = [{"rule": rule_label(m), "median max_lr": v.median_max_lr, "min": v.min,
             "max": v.max, "spread (decades)": v.spread_decades, "runs": v.n}
            for m, v in stability.items()]
    return pd.DataFrame(rows, columns=cols).sort_values("spread (decades)", kind="stable")


def leaders(values: Mapping[str, float | None], *, higher: bool = True,
            fmt: str = "{:.1%}") -> list[str]:
    """The runs with the best value, every one that reads the same as the best once
    formatted with ``fmt`` (what the table shows): two runs both at 97.5 % are a tie, and
    a trophy for one of them would be a verdict the table does not support. Missing and
    non-finite values never lead; [] when none is left."""
    finite = {k: float(v) for k, v in values.items()
              if v is not None and np.isfinite(float(v))}
    if not finite:
        return []
    best = (max if higher else min)(finite.values())
    return [k for k, v in finite.items() if fmt.format(v) == fmt.format(best)]


def stability_note(stability: Mapping) -> str | None:
    """What the seed sweep's table says about ``recommended`` beside the rule "trust a
    method whose spread is small", read off the same numbers: None when it moves least
    (or was not summarised), else which rules moved less and why it is still the one
    recommended."""
    rec = stability.get("recommended")
    if rec is None:
        return None
    steadier = sorted(((v.spread_decades, m) for m, v in stability.items()
                       if m != "recommended" and v.spread_decades < rec.spread_decades))
    if not steadier:
        return (f"The recommended max_lr moved least across these seeds "
                f"({rec.spread_decades:.2f} decades).")
    names = ", ".join(f"{rule_label(m)} ({d:.2f})" for d, m in steadier)
    return (f"Here the recommended max_lr moved {rec.spread_decades:.2f} decades across seeds, "
            f"more than {names}: a steady rule is not a good one by that alone (a rule that "
            "always answers the first LR never moves). The recommendation is chosen by the "
            "accuracy it trains to in the suggestion benchmark, and the combined "
            "recommendation's band widens with this spread.")
