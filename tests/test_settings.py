"""The operator's settings (clr_core.settings): every CLR_STUDIO_* variable parses the values
its row in the operator table documents, refuses others with a SettingsError naming the
variable and what it takes, is read at use time (an import never fails), and that table
(docs/operating.md) lists exactly the settings the class defines."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from clr_core.errors import ClrError, ConfigError
from clr_core.settings import (
    Settings,
    SettingsError,
    env_name,
    get_settings,
    reload_settings,
    settings_table,
    takes,
)

ROOT = Path(__file__).resolve().parents[1]
OPERATING = ROOT / "docs" / "operating.md"  # the operator table (the README's until issue 30)
HOME = Path("~").expanduser()


def _settings_with(var: str, value: str) -> Settings:
    with mock.patch.dict(os.environ, {var: value}):
        return reload_settings()


# --- good and bad values, per field --------------------------------------------------------

#: Fields whose type alone does not say their values: (text, what the field then holds).
EXPLICIT_GOOD: dict[str, list[tuple[str, Any]]] = {
    "db": [("~/studio/runs.db", HOME / "studio" / "runs.db"), ("/srv/a b/runs.db", Path("/srv/a b/runs.db"))],
    "data": [("~/datasets", HOME / "datasets"), ("/srv/data", Path("/srv/data"))],
    "data_roots": [(f"/a{os.pathsep} ~/b {os.pathsep}", (Path("/a"), Path("~/b"))), ("/one", (Path("/one"),)),
                   (os.pathsep, ())],
    "plugins": [("my_models", ("my_models",)), ("pkg.models, other ,", ("pkg.models", "other")),
                (",", ())],
    "trusted_proxy_header": [("X-Forwarded-User", "X-Forwarded-User"), ("  ", None)],
    "trusted_proxy_addresses": [("10.0.0.5, 10.0.0.0/24", ("10.0.0.5", "10.0.0.0/24")),
                                ("::1", ("::1",))],
    "owner": [("alice@example.org", "alice@example.org"), (" ", None)],
    "tracker_tensorboard_dir": [("~/tb", HOME / "tb"), ("/srv/tb logs", Path("/srv/tb logs")),
                                (" ", None)],
    "tracker_mlflow_uri": [("http://mlflow:5000", "http://mlflow:5000"),
                           ("/srv/mlruns", "/srv/mlruns"), ("  ", None)],
    "tracker_name": [("team", "team"), ("  ML  platform ", "ML platform"), (" ", "server")],
}
#: Values refused (a path field takes any text, so it has none).
EXPLICIT_BAD: dict[str, list[str]] = {
    "db": [], "data": [], "data_roots": [],
    "plugins": ["my-models", "a..b", "1st", "pkg.models, bad name"],
    "trusted_proxy_header": [], "owner": [],
    "tracker_tensorboard_dir": [], "tracker_mlflow_uri": [], "tracker_name": [],
    "trusted_proxy_addresses": ["proxy.example", "10.0.0.300", "10.0.0.5, nope"],
}
#: How a field's value is read back when it is a path the setting expands.
READ_BACK = {"db": lambda s: s.db_path, "data": lambda s: s.data_root}


def _int_bounds(field: str) -> tuple[int | None, int | None]:
    metadata = Settings.model_fields[field].metadata
    return (next((m.ge for m in metadata if hasattr(m, "ge")), None),
            next((m.le for m in metadata if hasattr(m, "le")), None))


def _good(field: str) -> list[tuple[str, Any]]:
    annotation = Settings.model_fields[field].annotation
    if field in EXPLICIT_GOOD:
        return EXPLICIT_GOOD[field]
    if annotation is bool:
        return [(t, True) for t in ("1", "true", "YES", "on")] + [(t, False) for t in ("0", "False", "no", "off")]
    if get_origin(annotation) is Literal:
        return [(a, a) for a in get_args(annotation)] + [(f" {str(a).upper()} ", a) for a in get_args(annotation)]
    if annotation is int:
        low, high = _int_bounds(field)
        values = {v for v in (low, high) if v is not None} | {(low or 0) + 1}
        return [(f" {v} ", v) for v in sorted(values)]
    raise AssertionError(f"give {field!r} its good values in EXPLICIT_GOOD")


def _bad(field: str) -> list[str]:
    annotation = Settings.model_fields[field].annotation
    if field in EXPLICIT_BAD:
        return EXPLICIT_BAD[field]
    if annotation is bool:
        return ["maybe", "2", "-1"]
    if get_origin(annotation) is Literal:
        return ["bogus", "process,ray"]
    if annotation is int:
        low, high = _int_bounds(field)
        outside = [str(low - 1)] if low is not None else []
        return ["abc", "1.5", "ten", *outside, *([str(high + 1)] if high is not None else [])]
    raise AssertionError(f"give {field!r} its bad values in EXPLICIT_BAD")


GOOD = [(f, text, want) for f in Settings.model_fields for text, want in _good(f)]
BAD = [(f, text) for f in Settings.model_fields for text in _bad(f)]


def test_every_setting_has_a_meaning_and_says_what_it_takes():
    for field, info in Settings.model_fields.items():
        assert info.description and len(info.description) > 20, field
        assert takes(field), field
        assert env_name(field) == "CLR_STUDIO_" + field.upper()


@pytest.mark.parametrize(("field", "text", "want"), GOOD)
def test_every_setting_takes_its_documented_values(field, text, want):
    settings = _settings_with(env_name(field), text)
    assert READ_BACK.get(field, lambda s: getattr(s, field))(settings) == want


@pytest.mark.parametrize(("field", "text"), BAD)
def test_a_bad_value_is_refused_naming_the_variable_and_what_it_takes(field, text):
    with pytest.raises(SettingsError) as caught:
        _settings_with(env_name(field), text)
    message = str(caught.value)
    assert f"{env_name(field)}={text!r}" in message
    assert takes(field) in message
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, ClrError)


@pytest.mark.parametrize("field", list(Settings.model_fields))
def test_unset_or_empty_is_the_default(field, monkeypatch):
    monkeypatch.delenv(env_name(field), raising=False)
    unset = getattr(reload_settings(), field)
    assert unset == Settings.model_fields[field].default
    assert getattr(_settings_with(env_name(field), ""), field) == unset


INT_FIELDS = [f for f, info in Settings.model_fields.items() if info.annotation is int]


@pytest.mark.parametrize("field", INT_FIELDS)
@given(n=st.integers(-10**9, 10**9))
@example(n=-1).via("below every lower bound in use")
@example(n=0).via("the lowest nice, below the job cap's 1")
@example(n=20).via("above the nice's 19")
def test_a_whole_number_setting_takes_exactly_its_bounds(field, n):
    low, high = _int_bounds(field)
    inside = (low is None or n >= low) and (high is None or n <= high)
    try:
        value = getattr(_settings_with(env_name(field), str(n)), field)
    except SettingsError as e:
        assert not inside, (n, str(e))
        assert env_name(field) in str(e) and takes(field) in str(e)
    else:
        assert inside and value == n


def test_the_executors_the_setting_takes_are_those_that_exist():
    from clr_core.jobs.executors import EXECUTORS

    assert set(get_args(Settings.model_fields["executor"].annotation)) == set(EXECUTORS)


# --- read at use, once per environment -------------------------------------------------------


def test_a_changed_environment_is_seen_without_a_reload_and_parsed_once(monkeypatch):
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "4")
    first = get_settings()
    assert first.worker_nice == 4 and get_settings() is first  # parsed once
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "5")
    assert get_settings().worker_nice == 5  # as when each module read os.environ itself
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICE", "4")
    assert get_settings() is first
    assert reload_settings() is not first and reload_settings().worker_nice == 4


def test_an_unknown_variable_is_named_in_a_warning(monkeypatch, caplog):
    monkeypatch.delenv("CLR_STUDIO_WORKER_NICE", raising=False)  # the tests' conftest sets it
    monkeypatch.setenv("CLR_STUDIO_WORKER_NICENESS", "3")  # a typo of CLR_STUDIO_WORKER_NICE
    with caplog.at_level(logging.WARNING, logger="clr_core.settings"):
        assert get_settings().worker_nice == Settings.model_fields["worker_nice"].default
    assert "unknown setting(s) CLR_STUDIO_WORKER_NICENESS" in caplog.text
    assert re.search(r"known: .*CLR_STUDIO_WORKER_NICE\b", caplog.text)  # the name meant


def test_a_bad_value_never_fails_an_import_only_the_use_that_reads_it(tmp_path):
    script = (
        "import clr_core, clr_core.runs, clr_core.setup.data, clr_core.setup.plugins\n"
        "import clr_core.jobs.registry, clr_core.jobs.executors.process, clr_core.cli\n"
        "from clr_core.runs import RunStore\n"
        "try:\n"
        "    RunStore()\n"
        "except clr_core.errors.ConfigError as e:\n"
        "    print(type(e).__name__, e)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CLR_STUDIO_WORKER_NICE": "abc",
           "CLR_STUDIO_DB": str(tmp_path / "runs.db")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("SettingsError ")
    assert "CLR_STUDIO_WORKER_NICE='abc'" in out.stdout and "a whole number from 0 to 19" in out.stdout
    assert not (tmp_path / "runs.db").exists()  # refused before the store was touched


# --- the operator table (docs/operating.md) --------------------------------------------------

_ROW = re.compile(r"^\| `(CLR_STUDIO_[A-Z0-9_]+)` \|")


def _doc_rows() -> list[str]:
    return [line for line in OPERATING.read_text(encoding="utf-8").splitlines() if _ROW.match(line)]


def test_the_readme_lists_exactly_the_settings_the_class_defines():
    listed = [_ROW.match(line).group(1) for line in _doc_rows()]
    defined = [env_name(f) for f in Settings.model_fields]
    assert len(listed) == len(set(listed)), "a variable listed twice"
    assert set(listed) == set(defined), (
        f"docs/operating.md lists {sorted(set(listed) - set(defined))} that Settings does not define and "
        f"misses {sorted(set(defined) - set(listed))}")


def test_the_readme_table_is_the_one_the_fields_write():
    """Each row says what the field's description, type and default say (regenerate with
    ``python -c "from clr_core.settings import settings_table; print(settings_table())"``)."""
    generated = [line for line in settings_table().splitlines() if _ROW.match(line)]
    assert _doc_rows() == generated
