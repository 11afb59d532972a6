"""A job whose save meets a locked store is saved by itself once the lock clears (retried
in the background with back-off), with nobody pressing a button."""

from __future__ import annotations

import time

from clr_core.errors import StoreBusy
from clr_core.jobs.registry import JobRegistry
from clr_core.runs import writer as writer_mod
from clr_core.runs.store import RunStore


class LockedStore(RunStore):
    locked = False

    def _write(self, busy_ms=None):
        if self.locked:
            raise StoreBusy(f"run store {self.path}: database is locked")
        return super()._write(busy_ms)


def quick(config, emit, should_stop):
    for i in range(3):
        emit({"kind": "step", "i": i}, (i + 1) / 3)
    return {"n": 3, "headline": "quick"}


def test_a_failed_save_is_retried_in_the_background_until_the_lock_clears(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(writer_mod, "RETRY_FIRST_S", 0.05)
    store = LockedStore(tmp_path / "runs.db")
    store.locked = True
    reg = JobRegistry({"q": quick}, store=store, executor="thread")
    try:
        final = reg.wait(reg.submit("q", {}), timeout=30)
        assert final.save_failed and "database is locked" in final.save_error
        time.sleep(0.3)
        store.locked = False
        deadline = time.monotonic() + 10
        while reg.status(final.id).save_failed and time.monotonic() < deadline:
            time.sleep(0.05)
        saved = reg.status(final.id)
        assert not saved.save_failed
        assert store.load_run(saved.run_id).result == {"n": 3, "headline": "quick"}
        assert store.load_run(saved.run_id).status == "done"
    finally:
        assert reg.shutdown(timeout=30)
