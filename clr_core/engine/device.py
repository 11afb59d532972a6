"""Where to run: CUDA if present, then Apple's MPS, then the CPU.

One place decides so the UI, the CLI and the jobs agree, and asking for a device the
machine lacks fails with a message instead of a CUDA traceback deep in a run. The same
goes for how to compute there: `precision_for` is the one mixed-precision policy the
range test and training share.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import torch

from clr_core.errors import ConfigError

__all__ = ["Precision", "amp_available", "amp_dtype", "available_devices", "describe_device", "pick_device",
           "precision_for"]

_PREFERENCE = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device strings `pick_device` accepts on this machine, best first (for a select box)."""
    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        devices.append("mps")
    devices.append("cpu")
    return devices


def pick_device(preference: str | torch.device | None = "auto") -> torch.device:
    """`"auto"` picks cuda, then mps, then cpu; anything else must exist here or ConfigError."""
    if isinstance(preference, torch.device):
        preference = str(preference)
    pref = (preference or "auto").strip().lower()
    m = _PREFERENCE.match(pref)
    if m is None:
        raise ConfigError(
            f"unknown device {preference!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' "
            f"(this machine has: {', '.join(available_devices())})"
        )
    kind, index = m.group(1), m.group(2)
    if kind == "auto":
        if index is not None:
            raise ConfigError(f"'auto' takes no index, got {preference!r}")
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        if not _mps_available():
            raise ConfigError(
                "device 'mps' was asked for but Apple's Metal backend is not available here "
                f"(available: {', '.join(available_devices())}); choose 'auto' or 'cpu'"
            )
        return torch.device("mps")
    # cuda / cuda:N
    if not torch.cuda.is_available():
        raise ConfigError(
            f"device {preference!r} was asked for but CUDA is not available here (no NVIDIA GPU, "
            f"or torch was built without CUDA); available: {', '.join(available_devices())}. "
            "Choose 'auto' or 'cpu'."
        )
    if index is not None:
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise ConfigError(
                f"device {preference!r} was asked for but this machine has {count} CUDA device(s) "
                f"(cuda:0 .. cuda:{count - 1})"
            )
        return torch.device("cuda", int(index))
    return torch.device("cuda")


def describe_device(device: torch.device | str) -> str:
    """A label for the UI, e.g. "CUDA: NVIDIA H100 80GB HBM3 (79 GB)" or "CPU (2 threads)"."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"CUDA: {props.name} ({props.total_memory / 1024**3:.0f} GB)"
    if device.type == "mps":
        return "MPS: Apple GPU"
    if device.type == "cpu":
        n = torch.get_num_threads()
        return f"CPU ({n} thread{'s' if n != 1 else ''})"
    return str(device)


def amp_available(device: torch.device | str) -> bool:
    """Whether mixed precision pays off here: CUDA yes, MPS where torch supports it, CPU no.

    CPU autocast to bfloat16 runs, but is usually slower than float32 without AMX, so the
    training loop treats `amp=True` on a CPU as a no-op rather than a slowdown."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available()
    if device.type == "mps":
        return _mps_available() and torch.amp.is_autocast_available("mps")
    return False


def amp_dtype(device: torch.device | str) -> torch.dtype:
    """bfloat16 where the GPU has it (no loss scaling needed), else float16."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


@dataclass(frozen=True)
class Precision:
    """How one run computes: ``dtype`` is the autocast type, None for full precision."""

    device_type: str
    dtype: torch.dtype | None = None

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    @property
    def label(self) -> str | None:
        """"bfloat16" / "float16", or None without AMP (what results record)."""
        return None if self.dtype is None else str(self.dtype).removeprefix("torch.")

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler | None:
        """A loss scaler for float16 (its gradients underflow); bfloat16 needs none."""
        if self.dtype == torch.float16:
            return torch.amp.GradScaler(self.device_type)
        return None


#: Names a trainer gives its mixed precision, as the autocast dtype they mean.
_DTYPE_NAMES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
                "fp16": torch.float16, "float16": torch.float16, "16": torch.float16}


def precision_for(device: torch.device, amp: bool | str) -> Precision:
    """The one mixed-precision policy, so an LR found by a range test is trained at the
    precision it was found at: with ``amp`` requested, CUDA autocasts to bfloat16 where
    the GPU has it (no loss scaling) and float16 with a GradScaler elsewhere, MPS to
    float16 where torch supports it; a CPU stays in float32 (bfloat16 autocast there is
    usually slower than float32, see `amp_available`).

    ``amp`` may also name the dtype a trainer was configured with ("bf16"/"bfloat16",
    "fp16"/"float16"), so a range test runs at the real run's precision: that dtype where
    the device can autocast to it, including bfloat16 on a CPU (what a Hugging Face
    ``bf16=True`` or Lightning ``precision="bf16-mixed"`` run does there); float16 on a
    CPU, which neither trainer runs, stays float32."""
    device = torch.device(device)
    if isinstance(amp, str):
        want = _DTYPE_NAMES.get(amp.strip().lower())
        if want is None:
            raise ConfigError(f"amp must be True/False or one of {sorted(_DTYPE_NAMES)}, got {amp!r}")
        if device.type == "cpu":
            return Precision("cpu", torch.bfloat16 if want == torch.bfloat16 else None)
        if not amp_available(device):
            return Precision(device.type)
        if want == torch.bfloat16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            want = torch.float16
        return Precision(device.type, want)
    if amp and amp_available(device):
        return Precision(device.type, amp_dtype(device))
    return Precision(device.type)
