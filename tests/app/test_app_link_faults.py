"""Designer and lesson links with values that raise more than a ScheduleError (deep JSON,
numbers that overflow, odd text): a message naming the key, never a traceback."""

from __future__ import annotations

from apptest_helpers import open_designer_link, open_learn, plain


def test_phases_nested_5000_deep_is_a_message_naming_phases():
    app = open_designer_link({"policy": "phases", "phases": "[" * 5000 + "]" * 5000})
    assert any("phases" in e.value for e in app.error), [e.value for e in app.error]


def test_k_decay_1e300_is_a_message_naming_k_decay():
    app = open_designer_link({"policy": "timm_cosine", "max_lr": "0.001", "t_initial": "100",
                 "k_decay": "1e300"})
    assert any("k_decay=1e+300" in plain(e.value) for e in app.error), [e.value for e in app.error]


def test_huge_step_counts_and_odd_values_in_a_link_are_messages():
    for query in ({"policy": "wsd", "total_steps": "1" + "0" * 300},
                  {"policy": "triangular", "step_size_up": "1e300"},
                  {"policy": "timm_cosine", "noise_pct": "5", "noise_range_t": "0"},
                  {"policy": "one_cycle", "three_phase": "maybe"},
                  {"policy": "phases", "phases": '[{"steps": 1e999}]'}):
        app = open_designer_link(query)
        assert app.error, query


def test_a_lesson_link_with_values_that_raise_opens_with_defaults():
    at = open_learn({"lesson": "1", "lr": "1e99999", "momentum": "[" * 5000,
                     "steps": "-inf", "hide": "x" * 10_000})
    assert not at.exception, at.exception
