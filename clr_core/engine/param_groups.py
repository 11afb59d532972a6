"""What an optimizer's param groups hold: the one knob cyclical momentum turns on each.

SGD and RMSprop call it ``momentum``; Adam and AdamW call it ``betas[0]``. Training
records it per update, reading it by the rule torch's CyclicLR/OneCycleLR write it by
(and `clr_core.schedules`' torch adapter, following them): betas if the group has them,
else momentum.
"""

from __future__ import annotations

__all__ = ["get_momentum"]


def get_momentum(group: dict) -> float | None:
    """betas[0] if the group has betas, else momentum, else None (e.g. Adagrad)."""
    if "betas" in group:
        return float(group["betas"][0])
    if "momentum" in group:
        return float(group["momentum"])
    return None
