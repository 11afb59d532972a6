"""Tables for people: a range test's suggestions as rows with display column names, shown
by the range-test page and printed by the CLI."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from clr_core.engine.results import RangeTestResult
from clr_core.suggest.recommend import other_rules

__all__ = ["suggestions_table"]


def suggestions_table(range_test: RangeTestResult | Mapping) -> pd.DataFrame:
    """A range test's rules other than ``recommended``, one row each, labelled by origin,
    with the regret the suggestion benchmark measured (its dict form is read back)."""
    rt = range_test if isinstance(range_test, RangeTestResult) else RangeTestResult.from_dict(range_test)
    cols = ["rule", "max_lr", "base_lr", "confidence", "worst regret (points)",
            "mean regret (points)", "explanation", "source"]
    rows = other_rules(rt.suggestions)
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
