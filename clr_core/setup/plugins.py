"""Your own models and data: factories named ``MODULE:FUNCTION`` on the command line, or
contributed to the app by the modules listed in ``CLR_STUDIO_PLUGINS``.

Importing is code execution, so only two people may ask for it: whoever types the CLI
command (``register_spec``) and whoever starts the server (``load_plugins`` reads the
environment, never the browser). Runs refer to a factory by the name it was registered
under and ``factory`` only looks names up: a name nobody registered is refused, never
imported, so nothing typed in a browser field can bring code in.

A plugin module contributes through two dicts of display name -> zero-argument factory::

    CLR_STUDIO_MODELS = {"Tiny ConvNet": make_model}   # an nn.Module, or (module, param_groups)
    CLR_STUDIO_DATA = {"My images": make_loaders}       # returns train or (train, val)
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from clr_core.errors import ConfigError
from clr_core.settings import env_name, get_settings

__all__ = [
    "ENV_VAR",
    "KINDS",
    "Factory",
    "PluginError",
    "factory",
    "is_registered",
    "load_plugins",
    "make_data",
    "make_loss",
    "make_model",
    "make_model_groups",
    "names",
    "plugin_errors",
    "plugin_modules",
    "register_spec",
    "registered",
]

ENV_VAR = env_name("plugins")
KINDS = ("model", "data", "loss", "batch_to_inputs")
_PLUGIN_DICTS = {"model": "CLR_STUDIO_MODELS", "data": "CLR_STUDIO_DATA"}


class PluginError(ConfigError):
    """A factory could not be imported, is not registered, or returned the wrong thing."""


@dataclass(frozen=True)
class Factory:
    """A registered factory: ``name`` is how configs refer to it (``module:function``)."""

    kind: str
    name: str
    label: str
    func: Callable[..., Any]
    module: str
    description: str = ""


_REGISTRY: dict[str, dict[str, Factory]] = {kind: {} for kind in KINDS}
_LOADED: list[str] = []
_ENV_ERRORS: list[str] = []
_env_read = False


def _read_env_once() -> None:
    """Register ``$CLR_STUDIO_PLUGINS`` the first time anything is looked up, in every
    process (the server and its job workers alike); errors are kept for the app to show."""
    global _env_read
    if _env_read:
        return
    modules = get_settings().plugins  # a malformed list is a SettingsError, at every lookup
    _env_read = True
    for module_name in modules:
        try:
            load_plugins([module_name])
        except PluginError as e:
            _ENV_ERRORS.append(str(e))


def _spec_parts(spec: str) -> tuple[str, str]:
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise PluginError(f"{spec!r} is not MODULE:FUNCTION (e.g. my_models:make_net)")
    module, attr = (part.strip() for part in spec.split(":"))
    if not module or not attr:
        raise PluginError(f"{spec!r} is not MODULE:FUNCTION (e.g. my_models:make_net)")
    return module, attr


def _import_module(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception as e:  # ImportError, or the module's own error while importing
        raise PluginError(f"cannot import {module!r} for {what}: {type(e).__name__}: {e}") from e


def _summary(func: Any) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _add(kind: str, name: str, label: str, func: Any, module: str) -> Factory:
    if kind not in KINDS:
        raise PluginError(f"kind must be one of {KINDS}, got {kind!r}")
    if not callable(func):
        raise PluginError(f"{name} is a {type(func).__name__}, not a function to call")
    entry = Factory(kind, name, label, func, module, _summary(func))
    _REGISTRY[kind][name] = entry
    return entry


def register_spec(kind: str, spec: str) -> Factory:
    """Import ``MODULE:FUNCTION`` (dots after the colon reach into classes) and register
    it under that name. For the CLI: the person typing the command chose the code."""
    module_name, attr = _spec_parts(spec)
    target: Any = _import_module(module_name, f"--{kind.replace('_', '-')}")
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise PluginError(f"module {module_name!r} has no {attr!r} (from {spec!r})") from None
    return _add(kind, f"{module_name}:{attr}", f"{attr} ({module_name})", target, module_name)


def load_plugins(modules: Iterable[str] | str | None = None) -> list[str]:
    """Import the plugin modules (default: ``$CLR_STUDIO_PLUGINS``, comma-separated) and
    register what their ``CLR_STUDIO_MODELS`` / ``CLR_STUDIO_DATA`` dicts offer; returns
    the modules loaded. The environment's list is read on the first lookup anyway; call
    this with names only from code the server's starter controls."""
    if modules is None:
        modules = get_settings().plugins
    if isinstance(modules, str):
        modules = modules.split(",")
    loaded = []
    for module_name in (m.strip() for m in modules):
        if not module_name:
            continue
        module = _import_module(module_name, f"the {ENV_VAR} plugin list")
        offered = 0
        for kind, dict_name in _PLUGIN_DICTS.items():
            entries = getattr(module, dict_name, None) or {}
            if not isinstance(entries, dict):
                raise PluginError(f"{module_name}.{dict_name} must be a dict of name -> "
                                  f"factory, got {type(entries).__name__}")
            for label, func in entries.items():
                qualname = getattr(func, "__qualname__", str(label))
                _add(kind, f"{module_name}:{qualname}", str(label), func, module_name)
                offered += 1
        if not offered:
            raise PluginError(f"plugin module {module_name!r} offers nothing: define "
                              f"{' or '.join(_PLUGIN_DICTS.values())}")
        if module_name not in _LOADED:
            _LOADED.append(module_name)
        loaded.append(module_name)
    return loaded


def plugin_modules() -> list[str]:
    """The plugin modules loaded in this process, and why any listed one could not be."""
    _read_env_once()
    return list(_LOADED)


def plugin_errors() -> list[str]:
    _read_env_once()
    return list(_ENV_ERRORS)


def registered(kind: str | None = None) -> list[Factory]:
    """What is registered, in order of registration (all kinds when ``kind`` is None)."""
    _read_env_once()
    kinds = KINDS if kind is None else (kind,)
    return [f for k in kinds for f in _REGISTRY.get(k, {}).values()]


def names(kind: str) -> list[str]:
    _read_env_once()
    return list(_REGISTRY.get(kind, {}))


def is_registered(kind: str, name: Any) -> bool:
    _read_env_once()
    return isinstance(name, str) and name in _REGISTRY.get(kind, {})


def factory(kind: str, name: str) -> Factory:
    """Look a registered factory up. Never imports: an unknown name is refused."""
    _read_env_once()
    entry = _REGISTRY.get(kind, {}).get(name) if isinstance(name, str) else None
    if entry is None:
        known = ", ".join(_REGISTRY.get(kind, {})) or "none"
        raise PluginError(f"{name!r} is not a registered {kind} factory (registered: {known}); "
                          f"list plugin modules in {ENV_VAR} when starting the server, or pass "
                          "MODULE:FUNCTION on the command line")
    return entry


def _call(entry: Factory) -> Any:
    try:
        return entry.func()
    except Exception as e:
        raise PluginError(f"{entry.name} raised {type(e).__name__}: {e}") from e


def make_model(name: str) -> nn.Module:
    """Call a registered model factory; it must return an ``nn.Module`` (or a
    ``(module, param_groups)`` pair, see `make_model_groups`, whose module is returned)."""
    return make_model_groups(name)[0]


def make_model_groups(name: str) -> tuple[nn.Module, list[dict] | None]:
    """Call a registered model factory: an ``nn.Module``, or ``(module, param_groups)``
    with param groups as torch optimizers take them (``[{"params": ..., "lr": ...}, ...]``,
    say discriminative LRs or no weight decay on norms). Their ``lr`` values set the
    groups' ratios: the largest group gets the LR being swept or scheduled
    (`clr_core.setup.optim.scaled_groups`); other keys go to the optimizer as written."""
    entry = factory("model", name)
    out = _call(entry)
    groups = None
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], nn.Module):
        out, groups = out
        if not isinstance(groups, list | tuple) or not groups or not all(
                isinstance(g, dict) and "params" in g for g in groups):
            raise PluginError(f"{entry.name} returned a (model, param_groups) pair whose groups "
                              "are not a list of dicts with 'params'")
        groups = [dict(g) for g in groups]
    if not isinstance(out, nn.Module):
        raise PluginError(f"{entry.name} returned {type(out).__name__}, not a torch.nn.Module "
                          "or a (module, param_groups) pair")
    return out, groups


def _is_loader(obj: Any) -> bool:
    return isinstance(obj, Iterable) and not isinstance(obj, str | bytes | dict)


def make_data(name: str) -> tuple[Iterable, Iterable | None]:
    """Call a registered data factory: a train loader, or a ``(train, val)`` pair."""
    entry = factory("data", name)
    out = _call(entry)
    if isinstance(out, tuple) and len(out) == 2 and all(_is_loader(x) or x is None for x in out) \
            and out[0] is not None:
        return out[0], out[1]
    if _is_loader(out) and not isinstance(out, tuple):
        return out, None
    raise PluginError(f"{entry.name} returned {type(out).__name__}; a data factory returns a "
                      "train loader (an iterable of batches, e.g. a DataLoader) or a "
                      "(train, val) pair of them")


def make_loss(name: str) -> Callable[..., Any]:
    """A registered loss: the function ``loss(outputs, targets)`` itself, or a class (an
    ``nn.Module`` such as ``torch.nn:CrossEntropyLoss``) built with no arguments."""
    entry = factory("loss", name)
    func = _call(entry) if inspect.isclass(entry.func) else entry.func
    if not callable(func):
        raise PluginError(f"{entry.name} gave {type(func).__name__}, not a loss to call")
    return func
