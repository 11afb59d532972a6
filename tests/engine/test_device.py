"""Device choice: auto order, explicit overrides, clear errors for missing hardware."""

import pytest
import torch

from clr_core.engine import device as dev
from clr_core.errors import ConfigError


def _no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)


def test_cpu_always_works():
    assert dev.pick_device("cpu") == torch.device("cpu")
    assert dev.pick_device(torch.device("cpu")) == torch.device("cpu")
    assert dev.available_devices()[-1] == "cpu"


def test_auto_falls_back_to_cpu(monkeypatch):
    _no_gpu(monkeypatch)
    assert dev.pick_device() == torch.device("cpu")
    assert dev.pick_device(None) == torch.device("cpu")
    assert dev.available_devices() == ["cpu"]


def test_auto_prefers_cuda_then_mps(monkeypatch):
    _no_gpu(monkeypatch)
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.pick_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert dev.pick_device("auto") == torch.device("cuda")
    assert dev.available_devices() == ["cuda:0", "cuda:1", "mps", "cpu"]
    assert dev.pick_device("CUDA:1") == torch.device("cuda", 1)
    with pytest.raises(ConfigError, match="2 CUDA device"):
        dev.pick_device("cuda:2")


@pytest.mark.parametrize("pref", ["cuda", "cuda:0", "mps"])
def test_unavailable_device_is_a_config_error(monkeypatch, pref):
    _no_gpu(monkeypatch)
    with pytest.raises(ConfigError, match="not available") as info:
        dev.pick_device(pref)
    assert "cpu" in str(info.value)


@pytest.mark.parametrize("pref", ["tpu", "gpu", "cuda:x", "auto:0", ""])
def test_unknown_preference(pref):
    if pref == "":  # empty means auto
        assert isinstance(dev.pick_device(pref), torch.device)
        return
    with pytest.raises(ConfigError):
        dev.pick_device(pref)


def test_describe_and_amp():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert dev.describe_device("cpu") == "CPU (1 thread)"
        torch.set_num_threads(2)
        assert dev.describe_device("cpu") == "CPU (2 threads)"
    finally:
        torch.set_num_threads(before)
    assert dev.amp_available("cpu") is False
    if torch.cuda.is_available():
        label = dev.describe_device("cuda")
        assert label.startswith("CUDA: ") and label.endswith(" GB)")
        assert dev.amp_available("cuda")
