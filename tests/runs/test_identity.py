"""Who a visitor is (clr_core.runs.identity): decided by the server's settings, the
connection and Streamlit's sign-in, never by the page's URL (issue 29)."""

from __future__ import annotations

import getpass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clr_core.runs.identity import (
    Identity,
    decide,
    describe_owner,
    may_manage,
    os_owner,
    script_owner,
)
from clr_core.settings import Settings, SettingsError, get_settings, reload_settings

ME = "os:" + getpass.getuser()
PROXY = {"mode": "shared", "trusted_proxy_header": "X-Forwarded-User",
         "trusted_proxy_addresses": ("10.0.0.5", "10.1.0.0/24")}
ALICE = {"is_logged_in": True, "email": "alice@example.com", "sub": "1234"}

headers_st = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=5)
peers_st = st.one_of(st.none(), st.ip_addresses().map(str))


def shared(**fields) -> Settings:
    return Settings(**{"mode": "shared", **fields})


@given(headers=headers_st, peer=peers_st)
def test_local_mode_is_one_person_whatever_the_connection_says(headers, peer):
    for user in ({}, ALICE):  # sign-in, headers, address: all ignored; every tab is the same
        who = decide(Settings(), headers={**headers, "X-Forwarded-User": "mallory"}, peer=peer,
                     user=user)
        assert who == Identity("local", "local", ME, ME.removeprefix("os:"))
        assert may_manage(who, "someone-else") and may_manage(who, "script")
        assert may_manage(who, None)


def test_two_tabs_of_one_signed_in_person_are_one_owner():
    tab1 = decide(shared(), headers={"Cookie": "a"}, peer="198.51.100.7", user=ALICE)
    tab2 = decide(shared(), headers={}, peer="203.0.113.9", user=dict(ALICE))
    assert tab1.owner == tab2.owner == "alice@example.com"
    assert may_manage(tab2, tab1.owner)


def test_a_signed_in_user_without_an_email_is_their_subject():
    who = decide(shared(), user={"is_logged_in": True, "sub": "google|42"})
    assert (who.source, who.owner) == ("login", "google|42")


@pytest.mark.parametrize("user", [
    {},  # nobody signed in
    {"email": "test@example.com"},  # an st.user with no sign-in flag (AppTest's default)
    {"is_logged_in": False, "email": "alice@example.com"},
    {"is_logged_in": "true", "email": "alice@example.com"},  # only the real flag counts
    {"is_logged_in": True, "email": "", "sub": " "},
])
def test_without_a_real_sign_in_a_shared_visitor_is_anonymous_and_may_not_act(user):
    who = decide(shared(), headers={"X-Forwarded-User": "alice"}, peer=None, user=user)
    assert who.owner is None and not who.may_act and who.source == "anonymous"
    assert not may_manage(who, None) and not may_manage(who, "alice")


@given(headers=headers_st, peer=peers_st)
def test_a_copied_link_gives_nothing_what_decides_is_only_the_connection(headers, peer):
    """A URL is no input at all: whatever a stranger's request carries besides a sign-in
    or the trusted proxy's header, they are anonymous on a shared server."""
    who = decide(shared(), headers=headers, peer=peer, user={"sid": "alice@example.com"})
    assert who.owner is None
    assert not may_manage(who, "alice@example.com")


@pytest.mark.parametrize(("peer", "accepted"), [
    ("10.0.0.5", True), ("10.1.0.77", True),  # the proxy, its network
    ("::ffff:10.0.0.5", True),  # the proxy as a dual-stack socket names it
    ("10.0.0.6", False), ("203.0.113.5", False), (None, False),  # another host, loopback
    ("::ffff:10.0.0.6", False), ("fd00::5", False), ("not an ip", False),
])
def test_the_proxy_header_counts_only_from_the_proxys_address(peer, accepted):
    who = decide(Settings(**PROXY), headers={"x-forwarded-user": "alice"}, peer=peer)
    assert (who.owner == "alice") is accepted
    assert (who.owner is None) is not accepted


def test_a_proxy_on_this_host_is_named_by_a_loopback_address():
    """Streamlit gives a loopback peer as None (st.context.ip_address)."""
    local_proxy = {**PROXY, "trusted_proxy_addresses": ("127.0.0.1",)}
    assert decide(Settings(**local_proxy), headers={"X-Forwarded-User": "bob"}).owner == "bob"
    assert decide(Settings(**local_proxy), headers={"X-Forwarded-User": "bob"},
                  peer="192.0.2.8").owner is None


@pytest.mark.parametrize("settings", [
    {"mode": "shared", "trusted_proxy_addresses": ("10.0.0.5",)},  # no header named
    {"mode": "shared", "trusted_proxy_header": "X-Forwarded-User"},  # no address named
])
def test_a_half_configured_proxy_trusts_nobody(settings):
    assert decide(Settings(**settings), headers={"X-Forwarded-User": "alice"},
                  peer="10.0.0.5").owner is None


@pytest.mark.parametrize("name", ["", "   ", "os:root", "script", "a" * 300, "al\x00ice",
                                  "line\nbreak"])
def test_names_no_person_has_are_refused(name):
    who = decide(Settings(**PROXY), headers={"X-Forwarded-User": name}, peer="10.0.0.5")
    assert who.owner is None


class RepeatedHeaders(dict):
    """Streamlit's headers keep the last of a repeated header and give all by get_all."""

    def get_all(self, key):
        return ["alice", "mallory"] if key.lower() == "x-forwarded-user" else []


def test_a_header_sent_twice_is_refused():
    who = decide(Settings(**PROXY), headers=RepeatedHeaders({"X-Forwarded-User": "mallory"}),
                 peer="10.0.0.5")
    assert who.owner is None


def test_sign_in_wins_over_the_proxy_header():
    who = decide(Settings(**PROXY), headers={"X-Forwarded-User": "bob"}, peer="10.0.0.5",
                 user=ALICE)
    assert (who.source, who.owner) == ("login", "alice@example.com")


def test_in_shared_mode_a_person_manages_only_their_own():
    alice = decide(shared(), user=ALICE)
    assert may_manage(alice, "alice@example.com")
    for other in ("bob@example.com", "script", ME, None):
        assert not may_manage(alice, other)


def test_scripts_runs_are_the_os_users_or_the_owner_they_name():
    assert script_owner(Settings()) == os_owner() == ME
    assert script_owner(Settings(owner=" alice@example.com ")) == "alice@example.com"
    assert script_owner(Settings(owner="  ")) == ME


def test_how_the_runs_page_names_a_runs_owner():
    alice = decide(shared(), user=ALICE)
    assert describe_owner("alice@example.com", alice) == "you"
    assert describe_owner("bob@example.com", alice) == "bob@example.com"
    assert describe_owner("os:carol", alice) == "a script or the CLI, as OS user carol"
    assert "before runs named their owner" in describe_owner("script", alice)
    assert "before runs named their owner" in describe_owner(None, alice)


@pytest.mark.parametrize(("env", "value", "needle"), [
    ("CLR_STUDIO_MODE", "public", "CLR_STUDIO_MODE='public'"),
    ("CLR_STUDIO_TRUSTED_PROXY_ADDRESSES", "10.0.0.5,proxy.local",
     "'proxy.local' is not an IP address or network"),
    ("CLR_STUDIO_MAX_JOBS_PER_PERSON", "0", "CLR_STUDIO_MAX_JOBS_PER_PERSON='0'"),
    ("CLR_STUDIO_MAX_UPLOAD_MB", "500", "CLR_STUDIO_MAX_UPLOAD_MB='500'"),
])
def test_a_bad_setting_is_refused_by_name(monkeypatch, env, value, needle):
    monkeypatch.setenv(env, value)
    try:
        with pytest.raises(SettingsError, match=needle.replace("(", r"\(")):
            reload_settings()
    finally:
        monkeypatch.undo()
        reload_settings()


def test_the_settings_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_MODE", " Shared ")
    monkeypatch.setenv("CLR_STUDIO_TRUSTED_PROXY_HEADER", "X-Forwarded-User")
    monkeypatch.setenv("CLR_STUDIO_TRUSTED_PROXY_ADDRESSES", "10.0.0.5, fd00::/8")
    try:
        s = reload_settings()
        assert (s.mode, s.trusted_proxy_header) == ("shared", "X-Forwarded-User")
        assert s.trusted_proxy_addresses == ("10.0.0.5", "fd00::/8")
        assert decide(s, headers={"X-Forwarded-User": "eve"}, peer="fd00::2").owner == "eve"
    finally:
        monkeypatch.undo()
        reload_settings()
    assert get_settings().mode == "local"


def test_a_script_records_its_runs_as_its_os_user_or_the_owner_it_names(tmp_path, monkeypatch):
    from clr_core.runs.recorder import RunRecorder
    from clr_core.runs.store import RunStore

    store = RunStore(tmp_path / "runs.db")
    with RunRecorder("train", {}, label="mine", store=store) as rec:
        pass
    assert store.owner_of(rec.run_id) == ME
    monkeypatch.setenv("CLR_STUDIO_OWNER", "alice@example.com")
    try:
        reload_settings()
        with RunRecorder("train", {}, label="alice's", store=store) as rec:
            pass
    finally:
        monkeypatch.undo()
        reload_settings()
    assert store.owner_of(rec.run_id) == "alice@example.com"
