"""Plugins: the modules in CLR_STUDIO_PLUGINS add model and data factories to the app's
choices and the overview's list; nothing typed in the browser is ever imported."""

from __future__ import annotations

import sys
import textwrap

import pytest
from apptest_helpers import APP, open_page, run_until_done
from streamlit.testing.v1 import AppTest

from clr_core.errors import ConfigError
from clr_core.jobs import runners as experiments
from clr_core.jobs.engine_jobs import engine_registry
from clr_core.setup import plugins
from clr_core.setup.configs import RangeTestConfig
from clr_core.setup.plugins import PluginError

PLUGIN = textwrap.dedent('''
    """A user's plugin: a tiny model and data set of their own."""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset


    def tiny_net():
        """Two linear layers for 5 features."""
        return nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 2))


    def blobs():
        """Two gaussian blobs in 5-d."""
        g = torch.Generator().manual_seed(0)
        x = torch.randn(320, 5, generator=g)
        y = (x.sum(1) > 0).long()
        return (DataLoader(TensorDataset(x[:256], y[:256]), batch_size=32, shuffle=True),
                DataLoader(TensorDataset(x[256:], y[256:]), batch_size=64))


    CLR_STUDIO_MODELS = {"Tiny net": tiny_net}
    CLR_STUDIO_DATA = {"Blobs": blobs}
''')

# Importing this module is the failure the tests look for: it leaves a file behind.
PROBE = textwrap.dedent('''
    import pathlib
    pathlib.Path(__file__).with_suffix(".imported").touch()
    def make():
        return None
    CLR_STUDIO_MODELS = {"probe": make}
''')


@pytest.fixture
def plugin_env(tmp_path, monkeypatch):
    """A fresh plugin registry, the user's plugin and a probe module importable, and the
    plugin (not the probe) listed in CLR_STUDIO_PLUGINS as the server's starter would."""
    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    (tmp_path / "evil_probe.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_REGISTRY", {kind: {} for kind in plugins.KINDS})
    monkeypatch.setattr(plugins, "_LOADED", [])
    monkeypatch.setattr(plugins, "_ENV_ERRORS", [])
    monkeypatch.setattr(plugins, "_env_read", False)
    monkeypatch.setenv(plugins.ENV_VAR, "my_plugin")
    yield tmp_path
    for name in ("my_plugin", "evil_probe"):
        sys.modules.pop(name, None)


def _probe_imported(tmp_path) -> bool:
    return (tmp_path / "evil_probe.imported").exists() or "evil_probe" in sys.modules


def test_env_plugins_register_on_first_lookup(plugin_env):
    assert plugins.names("model") == ["my_plugin:tiny_net"]
    assert plugins.names("data") == ["my_plugin:blobs"]
    assert plugins.plugin_modules() == ["my_plugin"] and plugins.plugin_errors() == []
    entry = plugins.factory("model", "my_plugin:tiny_net")
    assert (entry.label, entry.description) == ("Tiny net", "Two linear layers for 5 features.")
    train, val = plugins.make_data("my_plugin:blobs")
    assert len(train) == 8 and len(val) == 1
    assert plugins.make_model("my_plugin:tiny_net")(next(iter(train))[0]).shape == (32, 2)


def test_a_broken_plugin_list_is_reported_not_raised(plugin_env, monkeypatch):
    monkeypatch.setenv(plugins.ENV_VAR, "no_such_plugin, my_plugin")
    assert plugins.names("model") == ["my_plugin:tiny_net"]
    (error,) = plugins.plugin_errors()
    assert "cannot import 'no_such_plugin'" in error
    (plugin_env / "empty_plugin.py").write_text("X = 1\n")
    with pytest.raises(PluginError, match="offers nothing"):
        plugins.load_plugins("empty_plugin")
    sys.modules.pop("empty_plugin", None)


def test_a_job_runs_on_the_plugins_model_and_data(plugin_env):
    out = experiments.run_range_test_job(
        {"model": "my_plugin:tiny_net", "dataset": "my_plugin:blobs", "num_iter": 30,
         "end_lr": 5.0},
        experiments.no_events, experiments.never_stop)
    assert out["iters_per_epoch"] == 8
    assert len(out["range_test"]["lrs"]) > 5
    assert out["range_test"]["suggestions"]


def test_names_nobody_registered_are_refused_never_imported(plugin_env):
    for config in ({"model": "evil_probe:make"}, {"dataset": "evil_probe:make"},
                   {"loss": "evil_probe:make"}, {"batch_to_inputs": "evil_probe:make"},
                   {"model": "evil_probe"}):
        with pytest.raises(ConfigError):
            RangeTestConfig.from_dict(config)
    with pytest.raises(PluginError, match="not a registered model"):
        plugins.make_model("evil_probe:make")
    with engine_registry() as reg:
        status = reg.wait(reg.submit("range_test", {"model": "evil_probe:make"}), timeout=60)
    assert status.state == "failed" and "evil_probe:make" in status.error
    assert not _probe_imported(plugin_env)


def test_the_app_offers_plugins_and_lists_them_on_the_overview(plugin_env):
    at = open_page("pages/overview.py")
    table = next(df.value for df in at.dataframe if "plugin" in df.value.columns)
    assert list(table["plugin"]) == ["Tiny net", "Blobs"]
    assert list(table["module"]) == ["my_plugin", "my_plugin"]

    at = open_page("pages/range_test.py")
    assert "🔌 Tiny net" in at.selectbox(key="rt.model").options
    assert "🔌 Blobs" in at.selectbox(key="rt.dataset").options
    at.selectbox(key="rt.dataset").set_value("my_plugin:blobs")
    at.selectbox(key="rt.model").set_value("my_plugin:tiny_net").run()
    at.text_input(key="rt.num_iter").set_value("30").run()
    at.button(key="btn.rt.start").click().run()
    assert not at.exception, at.exception
    assert run_until_done(at, "rt.job") == "done"
    assert not at.error
    assert "fastai valley" in set(at.table[0].value["rule"])  # the other rules, a static table


PAGES = ("pages/designer.py", "pages/range_test.py", "pages/training.py", "pages/sweeps.py",
         "pages/runs.py", "pages/learn.py", "pages/overview.py")


@pytest.mark.parametrize("page", PAGES)
def test_an_import_path_typed_in_any_field_is_never_imported(plugin_env, page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["sid"] = "evil_probe:make"
    at.run()
    at.switch_page(page).run()
    for spec in ("evil_probe:make", "evil_probe"):
        for box in [*at.text_input, *at.text_area]:
            box.set_value(spec)
        at.run()
        for button in at.button:
            if not button.disabled and "delete" not in (button.key or ""):
                button.click()
                at.run()
                break
    assert not _probe_imported(plugin_env)
