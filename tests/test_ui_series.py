"""The pages' incremental event columns stay aligned whatever fields events carry."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ui.jobs import SeriesCache

events = st.lists(st.fixed_dictionaries(
    {"kind": st.sampled_from(["point", "val"]), "iteration": st.integers(0, 100)},
    optional={"lr": st.floats(1e-6, 10), "loss": st.none() | st.floats(0, 10),
              "curve": st.sampled_from(["a", "b"])}), max_size=60)


@given(events)
def test_columns_align_and_keep_every_value(evts):
    cache = SeriesCache()
    for e in evts:
        cache.add(e)
    for (kind, curve), cols in cache.columns.items():
        mine = [e for e in evts if e["kind"] == kind and e.get("curve", "") == curve]
        assert cache.rows[(kind, curve)] == len(mine)
        for name, col in cols.items():
            assert col == [e.get(name) for e in mine]
