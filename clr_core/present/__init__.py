"""What the pages and the CLI show, computed without Streamlit: plotly figures (``plots``),
their PNG/SVG export (``figure_export``), display labels (``labels``) and tables with
display columns (``tables``).

May import: ``clr_core.runs`` (reports), ``clr_core.setup``, ``clr_core.engine``,
``clr_core.suggest``, ``clr_core.schedules`` and the foundation. Not ``clr_core.jobs``.

Nothing is re-exported here: the designer imports `plots` without the tables' pandas
and the engine. Import names from their modules.

The public module is ``plots`` (the figures, for a notebook); the rest is the pages'.
"""

__all__ = ["plots"]
