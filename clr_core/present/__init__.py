"""What the pages, the CLI and a notebook show, computed without Streamlit: a range test
read out once (``summary``: `RangeTestSummary`, in the sentences of ``words``), plotly
figures (``plots``; a training job's panels in ``training_plots``), their PNG/SVG export
(``figure_export``), display labels (``labels``), tables with display columns (``tables``)
and the result a notebook draws (``notebook``).

May import: ``clr_core.engine``, ``clr_core.suggest``, ``clr_core.schedules`` and the
foundation. Not ``clr_core.runs``, ``clr_core.setup`` or ``clr_core.jobs``: the run store
writes the summary's headline into each run, so the words sit below it.

Nothing is re-exported here: the designer imports `plots` without the tables' pandas
and the engine. Import names from their modules.

The public module is ``plots`` (the figures, for a notebook); the rest is the pages'.
"""

__all__ = ["plots"]
