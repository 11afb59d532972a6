"""Issue 29's probe: a run id that is not a whole number >= 1 (an SQL-looking string, a
float, a number past SQLite's rowids) is a `StoreError` naming it; 1.7 never loads run 1."""

from __future__ import annotations

import numpy as np
import pytest

from clr_core.errors import StoreError
from clr_core.runs.store import RunStore, run_id_of


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.db")
    s.save_run("train", {}, {"headline": "one"}, label="one")
    s.save_run("train", {}, {"headline": "two"}, label="two")
    return s


@pytest.mark.parametrize("bad", ["1 OR 1=1", "1; DROP TABLE runs", 1.7, 1.0, "1.7", True,
                                 None, [1], "", "-1", "１"])
def test_an_id_that_is_not_a_whole_number_is_refused_by_name(store, bad):
    for call in (store.load_run, store.owner_of, lambda i: store.rename_run(i, "x"),
                 lambda i: store.read_events(i), lambda i: store.delete_runs([2, i])):
        with pytest.raises(StoreError, match="a run id is a whole number >= 1"):
            call(bad)
    assert [r.label for r in store.list_runs()] == ["two", "one"]  # nothing renamed or gone


@pytest.mark.parametrize("bad", [2**70, 2**63, 0, -1])
def test_an_id_out_of_range_is_no_saved_run_not_an_overflow(store, bad):
    with pytest.raises(StoreError, match="no saved run with id"):
        store.load_run(bad)
    with pytest.raises(StoreError, match="no saved run with id"):
        store.delete_runs([bad])
    assert len(store.list_runs()) == 2


@pytest.mark.parametrize("good", [1, np.int64(1), "1", " 1 "])
def test_whole_number_ids_of_any_integer_type_or_digit_strings_load(store, good):
    assert run_id_of(good) == 1
    assert store.load_run(good).label == "one"
