"""A range test that shows itself in a notebook: ``result.summary()``, ``result.plot()`` and,
as the last expression of a Jupyter cell, the summary above the chart (``_repr_html_``) —
what fastai's ``learn.lr_find()`` and torch-lr-finder's ``lr_finder.plot()`` do for theirs.

Why a subclass. `RangeTestResult` lives in the engine, below the words and the figures
(the layer contract in pyproject.toml, which counts imports inside functions too), so it
cannot draw itself. `ShownRangeTestResult` adds the three methods one layer up, and
everything a user receives is one: the public ``clr_core.range_test.run_range_test``, the
integrations' range tests and every report read back from a job or the run store
(`clr_core.runs.reports`) return it, with the same fields and ``to_dict``.

Why plotly.js inline. ``_repr_html_`` embeds plotly.js in the output
(``to_html(include_plotlyjs=True)``, about 4.8 MB): "cdn" needs the network, "require"
needs require.js, which JupyterLab and VS Code do not load, and False assumes an earlier
cell loaded it, which breaks as soon as that output is cleared. Inline is the one option
that draws in every front end, offline, and in a notebook saved and reopened; ``plot()``
returns the figure itself, which Jupyter shows through plotly's own renderer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import plotly.graph_objects as go

from clr_core.engine.results import RangeTestResult
from clr_core.present.plots import range_test_figure
from clr_core.present.summary import RangeTestSummary, summarize

__all__ = ["PLOTLYJS", "ShownRangeTestResult", "shown"]

#: How ``_repr_html_`` includes plotly.js (see the module's docstring).
PLOTLYJS = True


class ShownRangeTestResult(RangeTestResult):
    """A `RangeTestResult` with ``summary()``, ``plot()`` and ``_repr_html_``."""

    def summary(self, config: Mapping | None = None) -> RangeTestSummary:
        """What the test says (`clr_core.present.summary.RangeTestSummary`; ``print`` it for
        the plain lines). ``config``: the run's, when known (its optimizer picks the default
        hand-off; without one the optimizer family the test measured is used)."""
        return summarize(self, config)

    def plot(self, config: Mapping | None = None, *, highlight: str | None = "recommended"
             ) -> go.Figure:
        """The range-test page's figure: the loss against the LR, the recommendation marked
        with its band shaded, every other rule one legend click away, the stability limit
        on its own panel when the sharpness was measured."""
        return range_test_figure(self, self.summary(config), highlight=highlight)

    def _repr_html_(self) -> str:
        figure = self.plot().to_html(full_html=False, include_plotlyjs=PLOTLYJS)
        return self.summary()._repr_html_() + figure


def shown(result: RangeTestResult | Any) -> ShownRangeTestResult | Any:
    """``result`` as a `ShownRangeTestResult` (the same field values, arrays not copied);
    anything else, such as a seed sweep's list, each item converted."""
    if isinstance(result, ShownRangeTestResult):
        return result
    if isinstance(result, RangeTestResult):
        return ShownRangeTestResult(**{f.name: getattr(result, f.name) for f in fields(result)})
    if isinstance(result, list | tuple):
        return type(result)(shown(r) for r in result)
    return result
