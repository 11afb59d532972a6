"""Who owns what, decided by the server (issue 29). Local mode: one person, every run theirs
in every tab. Shared mode: a visitor is who the sign-in (st.user) or the trusted proxy
says; others' runs are view-only, anonymous visitors start nothing, and no query
parameter (``?sid=`` included) changes any of it. Admin mode still edits every run."""

from __future__ import annotations

import pytest
from apptest_helpers import APP, plain
from streamlit.testing.v1 import AppTest

from clr_core.runs.store import RunStore
from clr_core.settings import reload_settings
from ui.jobs import registry

ALICE = {"is_logged_in": True, "email": "alice@example.com"}
BOB = {"is_logged_in": True, "email": "bob@example.com"}
NOBODY = {"is_logged_in": False}
EDIT_BUTTONS = ["btn.runs.delete", "btn.runs.rename"]


@pytest.fixture
def settings_env(monkeypatch):
    """Set operator settings (CLR_STUDIO_<NAME>) for the app under test; restored after."""
    monkeypatch.delenv("CLR_STUDIO_ADMIN", raising=False)

    def set_env(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(f"CLR_STUDIO_{name.upper()}", value)
        reload_settings()

    set_env()
    yield set_env
    monkeypatch.undo()
    reload_settings()


def _run(owner: str | None, label: str) -> int:
    return RunStore().save_run("train", {"dataset": "digits"}, None, label=label, owner=owner)


def visit(page: str, *, user: dict | None = None, query: dict | None = None) -> AppTest:
    """A fresh browser tab on ``page``: signed in as ``user``, opened from a URL with ``query``."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = dict(user if user is not None else NOBODY)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_run(at: AppTest, run_id: int) -> AppTest:
    at.multiselect(key="runs.open").set_value([run_id]).run()
    assert not at.exception, at.exception
    return at


def edit_buttons(at: AppTest) -> list[str]:
    return sorted(b.key for b in at.button if b.key in EDIT_BUTTONS)


def captions(at: AppTest) -> str:
    return " | ".join(plain(c.value) for c in at.caption)


def infos(at: AppTest) -> str:
    return " | ".join(plain(i.value) for i in at.info)


def test_in_local_mode_every_run_is_yours_in_every_tab(settings_env):
    runs = {owner: _run(owner, f"by {owner}") for owner in ("someone-else", "script", "os:carol", None)}
    for query in ({}, {"sid": "someone-else"}):  # an old link's sid changes nothing
        at = visit("pages/runs.py", query=query)
        for owner, run_id in runs.items():
            open_run(at, run_id)
            assert edit_buttons(at) == EDIT_BUTTONS, owner
    assert "made by a script or the CLI, as OS user carol" in captions(open_run(at, runs["os:carol"]))
    open_run(at, runs["script"]).text_input(key=f"runs.label.{runs['script']}").set_value("mine").run()
    at.button(key="btn.runs.rename").click().run()
    assert not at.exception, at.exception
    assert RunStore().load_run(runs["script"]).label == "mine"


@pytest.mark.parametrize("query", [
    {"sid": "alice@example.com"},
    {"sid": "script"},
    {"owner": "alice@example.com", "user": "alice@example.com", "email": "alice@example.com"},
])
@pytest.mark.parametrize("visitor", [BOB, NOBODY], ids=["signed-in", "anonymous"])
def test_a_copied_url_gives_nothing_of_the_senders(settings_env, query, visitor):
    settings_env(mode="shared")
    alices = _run("alice@example.com", "alice's run")
    scripts = _run("script", "a script's run")
    at = visit("pages/runs.py", user=visitor, query=query)
    for run_id in (alices, scripts):
        open_run(at, run_id)
        assert edit_buttons(at) == []
        if visitor is BOB:
            assert "Someone else made this run" in captions(at)
        else:
            assert "sign-in" in infos(at)
    assert "made by alice@example.com" in captions(open_run(at, alices))
    assert RunStore().load_run(alices).label == "alice's run"


def test_a_signed_in_person_manages_their_own_runs_only(settings_env):
    settings_env(mode="shared")
    mine, theirs = _run("alice@example.com", "mine"), _run("bob@example.com", "theirs")
    at = open_run(visit("pages/runs.py", user=ALICE), mine)
    assert "made by you" in captions(at)
    at.text_input(key=f"runs.label.{mine}").set_value("renamed").run()
    at.button(key="btn.runs.rename").click().run()
    assert not at.exception, at.exception
    assert RunStore().load_run(mine).label == "renamed"
    open_run(at, theirs)
    assert edit_buttons(at) == []
    assert "Someone else made this run" in captions(at)


def test_admin_mode_edits_every_run(settings_env):
    settings_env(mode="shared", admin="1")
    script = _run("script", "from a script")
    at = open_run(visit("pages/runs.py", user=BOB), script)
    assert edit_buttons(at) == EDIT_BUTTONS


@pytest.mark.parametrize(("peer", "owner"), [("10.0.0.5", "alice"), ("10.0.0.6", None)])
def test_the_proxy_header_counts_only_from_the_proxys_address(settings_env, monkeypatch,
                                                              peer, owner):
    """AppTest cannot seed st.context's headers or address: the glue's one reader of them
    stands in for the connection."""
    import ui.identity

    settings_env(mode="shared", trusted_proxy_header="X-Forwarded-User",
                 trusted_proxy_addresses="10.0.0.5")
    monkeypatch.setattr(ui.identity, "_connection",
                        lambda: ({"X-Forwarded-User": "alice"}, peer))
    alices = _run("alice", "alice's")
    at = open_run(visit("pages/runs.py", query={"sid": "alice"}), alices)
    assert bool(edit_buttons(at)) is (owner == "alice")
    at.switch_page("pages/overview.py").run()
    banner = " | ".join(e.value for e in [*at.success, *at.warning])
    assert ("signed in as **alice**" in banner) is (owner == "alice")
    assert ("you are not signed in" in banner) is (owner is None)


def test_an_anonymous_visitor_of_a_shared_server_starts_nothing(settings_env):
    settings_env(mode="shared")
    for page, key in (("pages/range_test.py", "btn.rt.start"), ("pages/sweeps.py", "btn.sweep.start"),
                      ("pages/training.py", "btn.train.start")):
        at = visit(page, query={"sid": "alice@example.com"})
        assert key not in [b.key for b in at.button]
        assert "sign-in your server's operator set up" in infos(at)


def test_the_overview_states_the_mode(settings_env):
    at = visit("pages/overview.py")
    assert any("**Local**: everything here is yours" in s.value for s in at.success)
    settings_env(mode="shared")
    at = visit("pages/overview.py", user=ALICE)
    assert any("signed in as **alice@example.com**" in plain(s.value) for s in at.success)


def test_two_tabs_of_one_person_share_their_job_and_another_person_sees_none(settings_env):
    settings_env(mode="shared")
    tab1 = visit("pages/range_test.py", user=ALICE)
    tab1.text_input(key="rt.num_iter").set_value("100000").run()
    tab1.button(key="btn.rt.start").click().run()
    assert not tab1.exception, tab1.exception
    job = tab1.session_state["rt.job"]
    try:
        tab2 = visit("pages/range_test.py", user=ALICE, query={"sid": "bob@example.com"})
        assert tab2.session_state["rt.job"] == job  # found by who they are, not by a URL
        assert tab2.button(key="btn.rt.start").disabled
        other = visit("pages/range_test.py", user=BOB, query={"sid": "alice@example.com"})
        assert "rt.job" not in other.session_state
        assert not other.button(key="btn.rt.start").disabled
        tab2.button(key="btn.rt.cancel").click().run()  # the second tab manages the first's job
        assert registry().wait(job, timeout=120).state == "cancelled"
    finally:
        registry().cancel(job)


def test_an_upload_over_the_limit_is_refused_by_the_server_with_the_setting(settings_env):
    """The browser refuses a larger file itself (the uploader's limit); a client that sends
    one anyway meets the same limit here, without its content echoed."""
    settings_env(max_upload_mb="1")
    at = visit("pages/designer.py")
    big = b'{"policy": "fixed", "lr": 0.1, "pad": "' + b"x" * (3 * 2**19) + b'"}'
    at.file_uploader(key="btn.designer.upload").upload("big.json", big, "application/json").run()
    assert not at.exception, at.exception
    refusal = " | ".join(plain(e.value) for e in at.error)
    assert "this server takes files up to 1 MB (CLR_STUDIO_MAX_UPLOAD_MB)" in refusal
    assert "xxxx" not in refusal
    assert "btn.designer.load_upload" not in [b.key for b in at.button]
    small = b'{"policy": "fixed", "lr": 0.1}'
    at.file_uploader(key="btn.designer.upload").upload("small.json", small, "application/json").run()
    assert not at.error
    at.button(key="btn.designer.load_upload").click().run()
    assert not at.exception and not at.error
