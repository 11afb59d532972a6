"""The pages' incremental event columns stay aligned whatever events arrive."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from clr_core.engine.events import EVAL, STEP, Event, EventTable

events = st.lists(st.builds(
    Event, kind=st.sampled_from([STEP, EVAL]), iteration=st.integers(0, 100),
    lr=st.floats(1e-6, 10), loss=st.floats(0, 10) | st.just(math.nan),
    curve=st.sampled_from(["", "a", "b"])), max_size=60)


@given(events, st.integers(0, 60))
def test_columns_align_and_keep_every_value(evts, cut):
    table = EventTable()
    for e in evts[:cut]:  # added in two polls, as a page does, in the dict form events
        table.add(e.to_dict())  # cross the job and store boundary in
    for e in evts[cut:]:
        table.add(json.loads(json.dumps(e.to_dict())))  # read back from the store's JSON
    cols = table.columns()
    for (kind, curve), c in cols.items():
        mine = [e for e in evts if e.kind == kind and e.curve == curve]
        assert len(c) == len(mine)
        assert c.iteration.tolist() == [e.iteration for e in mine]
        assert c.lr.tolist() == [e.lr for e in mine]
        assert all((a == b) or (math.isnan(a) and math.isnan(b))
                   for a, b in zip(c.loss.tolist(), [e.loss for e in mine], strict=True))
        assert all(math.isnan(v) for v in c.val_loss)
    assert sum(len(c) for c in cols.values()) == len(evts)
    assert table.get("no such kind") is None
