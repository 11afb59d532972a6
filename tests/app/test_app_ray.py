"""The app with CLR_STUDIO_EXECUTOR=ray and RAY_ADDRESS pointing where no cluster answers:
pages load at once (nothing connects until a job starts), and Start says why in one line."""

from __future__ import annotations

import pytest
from apptest_helpers import open_page, run_until_done
from ray_cluster import free_block


@pytest.fixture
def dead_ray(monkeypatch):
    from ui.jobs import registry

    address = f"127.0.0.1:{free_block(1)}"
    monkeypatch.setenv("CLR_STUDIO_EXECUTOR", "ray")
    monkeypatch.setenv("RAY_ADDRESS", address)
    registry.clear()
    yield address
    registry().shutdown()
    registry.clear()


def test_a_dead_ray_address_is_a_one_line_message_on_the_page(dead_ray):
    at = open_page("pages/range_test.py")
    from ui.jobs import registry

    assert registry().executor.name == "ray"
    at.text_input(key="rt.num_iter").set_value("20").run()
    at.button(key="btn.rt.start").click().run()
    assert run_until_done(at, "rt.job", timeout=20) == "failed"
    errors = [e.value.replace("\\", "") for e in at.error]  # as shown: markdown escapes dropped
    assert any(f"Nothing answers at {dead_ray} (connection refused)" in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)
    # the page stays usable: Start is enabled again
    assert not at.button(key="btn.rt.start").disabled
