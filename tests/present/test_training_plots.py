"""The training figure (clr_core.present.training_plots): one colour per run in every
panel, short legend names with the full description on hover, one legend entry per run,
panels that keep their height however many runs are overlaid (issue 32, item 4); and the
tile rows that keep every metric label whole (item 6)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from clr_core.present.labels import curve_label
from clr_core.present.plots import Curve
from clr_core.present.style import PAGE_WIDTH_PX, POLICY_COLORS, tiles_per_row
from clr_core.present.training_plots import LEGEND_CHARS, legend_name, training_figure

LONG = "training · mlp · sgd · digits · triangular max 0.006 · 300 it · preset: Digits demo"


def _panels(labels, n=50):
    it = np.arange(n, dtype=float)
    loss = [Curve(lab, it, np.exp(-it / (10 + i))) for i, lab in enumerate(labels)]
    acc = [Curve(lab, it[::10], np.linspace(0.5, 0.9 + i / 100, 5)) for i, lab in enumerate(labels)]
    lr = [Curve(lab, it, np.full(n, 0.01 * (i + 1))) for i, lab in enumerate(labels)]
    mom = [Curve(lab, it, np.full(n, 0.9 - i / 100)) for i, lab in enumerate(labels)]
    return loss, acc, lr, mom


def _by_run(fig):
    runs: dict[str, list] = {}
    for t in fig.data:
        runs.setdefault(t.legendgroup, []).append(t)
    return runs


def test_an_overlay_of_ten_runs_of_one_policy_gives_ten_colours_the_same_in_every_panel():
    labels = [curve_label(i, f"designed: triangular {i}") for i in range(1, 11)]
    details = {lab: f"{LONG} · {lab}" for lab in labels}
    fig = training_figure(*_panels(labels), by_policy=False, details=details)
    runs = _by_run(fig)
    assert list(runs) == labels
    colors = {}
    for label, traces in runs.items():
        assert len(traces) == 4  # loss, accuracy, LR, momentum
        assert len({t.yaxis for t in traces}) == 4  # each on its own panel
        assert len({t.line.color for t in traces}) == 1, label
        assert all(t.line.dash is None for t in traces)  # told apart by colour, not dashes
        assert sum(t.showlegend is not False for t in traces) == 1  # one legend entry per run
        assert details[label] in traces[0].hovertemplate  # the full description on hover
        colors[label] = traces[0].line.color
    assert len(set(colors.values())) == 10


def test_legend_names_are_short_and_the_panels_keep_their_height_with_ten_runs():
    labels = [curve_label(i, f"preset: {LONG}") for i in range(1, 11)]
    one = training_figure(*_panels(labels[:1]), by_policy=False)
    ten = training_figure(*_panels(labels), by_policy=False)
    names = [t.name for t in ten.data if t.showlegend is not False]
    assert len(names) == 10 and all(len(n) <= LEGEND_CHARS for n in names)
    assert all(n.startswith(f"#{i} ") for i, n in enumerate(names, start=1))
    # the legend grows the figure below the panels; the panels' pixels stay the same
    plot_px = lambda f: f.layout.height - f.layout.margin.t - f.layout.margin.b  # noqa: E731
    assert plot_px(ten) == plot_px(one) and ten.layout.height > one.layout.height
    lr_axis = next(k for k, v in ten.layout.to_plotly_json().items()
                   if k.startswith("yaxis") and v.get("title", {}).get("text") == "learning rate")
    lo, hi = ten.layout[lr_axis].domain
    assert (hi - lo) * plot_px(ten) >= 200  # the LR panel is not squashed (was ~190 px)
    assert ten.layout.legend.y < 0  # below the panels, never over them


def test_the_training_page_colours_by_policy_and_dashes_only_a_repeated_one():
    labels = ["designed: welch", "baseline: fixed", "baseline: adam", "preset: welch again"]
    fig = training_figure(*_panels(labels))
    runs = _by_run(fig)
    assert runs["designed: welch"][0].line.color == POLICY_COLORS["welch"]
    assert runs["baseline: fixed"][0].line.color == POLICY_COLORS["fixed"]
    assert runs["designed: welch"][0].line.dash is None
    assert runs["preset: welch again"][0].line.dash is not None  # same hue, told apart


def test_a_highlighted_run_is_bold_and_the_others_quieter():
    labels = ["#1 a", "#2 b", "#3 c"]
    fig = training_figure(*_panels(labels), by_policy=False, highlight="#2 b")
    for label, traces in _by_run(fig).items():
        assert all((t.opacity == 1.0) == (label == "#2 b") for t in traces)


def test_a_language_model_gets_a_validation_loss_panel_and_no_accuracy_one():
    it = np.arange(20, dtype=float)
    fig = training_figure([Curve("a", it, it + 1)], val_loss=[Curve("a", it[::5], it[::5] + 2)],
                          lr=[Curve("a", it, it * 0 + 0.1)])
    titles = [v["title"]["text"] for k, v in fig.layout.to_plotly_json().items()
              if k.startswith("yaxis")]
    assert titles == ["training loss (log)", "validation loss", "learning rate"]


@given(st.text(min_size=0, max_size=120))
def test_legend_name_is_short_and_a_prefix_of_the_label(label):
    name = legend_name(label)
    flat = " ".join(label.split())
    assert len(name) <= LEGEND_CHARS
    assert name == flat or (name.endswith("…") and flat.startswith(name[:-1].rstrip()))


def test_curve_label_names_the_run_and_drops_what_its_description_says():
    assert curve_label(12, "baseline: fixed") == "#12 fixed"
    assert curve_label(3, "preset: Digits demo: triangular, 2 cycles") == \
        "#3 Digits demo: triangular, 2 cycles"
    assert curve_label(4, "fixed @ 0.01") == "#4 fixed @ 0.01"


def test_tile_rows_keep_every_label_whole():
    lesson9 = ["warm-up + cosine (best peak 0.3)", "WSD (best peak 3)",
               "schedule-free SGD (best peak 3)", "schedule-free SGD at WSD's best peak 3"]
    assert tiles_per_row(lesson9) == 2  # was 4 in a row: the last label cut
    assert tiles_per_row(["iterations", "stopped"]) == 2
    assert tiles_per_row(["a", "b", "c", "d", "e"]) == 3  # 3 and 2, not 4 and 1
    assert tiles_per_row(lesson9, scale=1.45) <= tiles_per_row(lesson9)
    assert tiles_per_row([]) == 0


@given(st.lists(st.text(min_size=1, max_size=90), min_size=1, max_size=8))
def test_tile_rows_fit_the_longest_label_whenever_one_tile_a_row_would(labels):
    per_row = tiles_per_row(labels)
    assert 1 <= per_row <= min(4, len(labels))
    longest = max(len(s) for s in labels) * 7.0
    if longest <= PAGE_WIDTH_PX:
        assert (PAGE_WIDTH_PX - 16 * (per_row - 1)) / per_row >= longest


def test_a_run_named_with_html_is_text_in_the_legend_and_the_hover():
    label = '#7 <a href="https://evil.example">x</a>'
    fig = training_figure(*_panels([label]), by_policy=False, details={label: f"{label} full"})
    for t in fig.data:  # the strings as plotly.js gets them (to_json would hide a "<")
        for text in (t.name, t.hovertemplate, t.legendgroup):
            assert "<a href" not in text and "&lt;a href=" in text
