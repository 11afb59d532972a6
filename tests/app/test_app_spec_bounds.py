"""The run forms' limits are the spec's (issue 30): a value the engine takes is taken by
the form, one it refuses is refused by the form, for the same fields. (The training form's
iterations also meet the baseline comparison's own floor of 2, `baselines.baseline_lrs`.)"""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, plain

from clr_core.engine.spec import BOUNDS


@pytest.mark.parametrize(("page", "key", "name"), [
    ("range_test", "rt.num_iter", "num_iter"),
    ("range_test", "rt.accumulate", "accumulation_steps"),
    ("range_test", "rt.eval_every", "eval_every"),
    ("training", "train.eval_every", "eval_every"),
])
def test_the_form_takes_the_spec_s_lowest_value_and_refuses_the_one_below(page, key, name):
    lo = int(BOUNDS[name].lo)
    start = {"range_test": "btn.rt.start", "training": "btn.train.start"}[page]
    at = open_page(f"pages/{page}.py")
    at.text_input(key=key).set_value(str(lo)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not at.button(key=start).disabled
    at.text_input(key=key).set_value(str(lo - 1)).run()
    assert not at.exception
    assert at.button(key=start).disabled
    assert any(f"at least {lo}" in plain(e.value) for e in at.error), [e.value for e in at.error]
