"""The range-test form's limits are the spec's (issue 30): a value the engine takes is
taken by the form, one it refuses is refused by the form, for the same fields."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, plain

from clr_core.engine.spec import BOUNDS


@pytest.mark.parametrize(("key", "name"), [("rt.num_iter", "num_iter"),
                                           ("rt.accumulate", "accumulation_steps"),
                                           ("rt.eval_every", "eval_every")])
def test_the_form_takes_the_spec_s_lowest_value_and_refuses_the_one_below(key, name):
    lo = int(BOUNDS[name].lo)
    at = open_page("pages/range_test.py")
    at.text_input(key=key).set_value(str(lo)).run()
    assert not at.exception and not at.error
    assert not at.button(key="btn.rt.start").disabled
    at.text_input(key=key).set_value(str(lo - 1)).run()
    assert not at.exception
    assert at.button(key="btn.rt.start").disabled
    assert any(f"at least {lo}" in plain(e.value) for e in at.error), [e.value for e in at.error]
