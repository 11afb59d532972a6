"""SGDR: cosine annealing with warm restarts (Loshchilov & Hutter 2017), PyTorch
CosineAnnealingWarmRestarts' arithmetic; exported as that scheduler.

T_i is the current cycle's length (T_0, then T_0 * T_mult, ...) and T_cur the iterations
into it; each restart jumps back to max_lr:

    lr(k) = min_lr + (max_lr - min_lr) * (1 + cos(pi * T_cur / T_i)) / 2

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> lr = make_schedule("cosine_restarts", max_lr=1.0, T_0=4).lr(np.arange(7))
>>> np.round(lr, 6).tolist()
[1.0, 0.853553, 0.5, 0.146447, 1.0, 0.853553, 0.5]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clr_core.schedules import codegen, trace
from clr_core.schedules.base import Schedule
from clr_core.schedules.spec import (
    INT,
    ParamSpec,
    PolicySpec,
    at_least_one,
    bounds,
    lr_param,
    non_negative,
    positive,
)

__all__ = ["CosineRestarts", "restart_start"]

SGDR = ("Ilya Loshchilov & Frank Hutter, 'SGDR: Stochastic Gradient Descent with Warm "
        "Restarts', 2017")


def restart_start(T_0: int, T_mult: int, n: np.ndarray) -> np.ndarray:
    """First iteration of cycle n (0-based) when each cycle is T_mult times longer."""
    return T_0 * (T_mult**n - 1) // (T_mult - 1)


class CosineRestarts(Schedule):
    """CosineAnnealingWarmRestarts with integer T_cur/T_i, as torch keeps them."""

    __slots__ = ()
    spec = PolicySpec(
        "cosine_restarts", "Cosine with warm restarts (SGDR)",
        "Cosine decay from max_lr to base_lr, restarting every T_0 iterations, each cycle T_mult "
        "times longer (Loshchilov & Hutter 2017); identical to PyTorch "
        "CosineAnnealingWarmRestarts.",
        [lr_param("max_lr", 0.006, "LR at the start of every cycle."),
         lr_param("base_lr", 0.0, "LR at the end of every cycle (eta_min); may be 0.",
                  required=False),
         ParamSpec("T_0", 2000, INT, "Iterations in the first cycle.", required=True),
         ParamSpec("T_mult", 1, INT, "Each cycle is T_mult times longer than the previous one.")],
        source=SGDR, family="cosine")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        policy = cls.spec.name
        positive(policy, p, "max_lr")
        non_negative(policy, p, "base_lr")
        bounds(policy, p)
        at_least_one(policy, p, "T_0", "T_mult")

    def _cycle(self, k: np.ndarray) -> np.ndarray:
        """0-based cycle of each iteration when T_mult > 1."""
        T_0, T_mult = self._params["T_0"], self._params["T_mult"]
        n = np.floor(np.log(k / T_0 * (T_mult - 1) + 1) / math.log(T_mult)).astype(np.int64)
        n = np.maximum(n, 0)
        # float log can be one off at the boundaries: settle n with exact integers
        n = np.where(restart_start(T_0, T_mult, n) > k, n - 1, n)
        return np.where(restart_start(T_0, T_mult, n + 1) <= k, n + 1, n)

    def _cursor(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        T_0, T_mult = self._params["T_0"], self._params["T_mult"]
        if T_mult == 1:
            return k % T_0, np.full(k.shape, T_0, dtype=np.int64)
        n = self._cycle(k)
        return k - restart_start(T_0, T_mult, n), T_0 * T_mult**n

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        eta = p["base_lr"]
        if p["T_mult"] == 1 and p["T_0"] < k.size:
            # one cycle's values, gathered by position: the same arithmetic, one cos per step
            t_cur = np.arange(p["T_0"])
            table = eta + (p["max_lr"] - eta) * (1 + np.cos(np.pi * t_cur / p["T_0"])) / 2
            return table[k % p["T_0"]]
        t_cur, t_i = self._cursor(k)
        return eta + (p["max_lr"] - eta) * (1 + np.cos(np.pi * t_cur / t_i)) / 2

    def _trace(self, out: np.ndarray, first: int) -> None:
        """One cycle tiled (T_mult 1), else a cosine kernel per cycle."""
        p = self._params
        T_0, T_mult, eta = p["T_0"], p["T_mult"], p["base_lr"]
        if T_mult == 1:
            return trace.periodic(out, first, T_0, self._lr)
        half = (p["max_lr"] - eta) / 2
        n = int(self._cycle(np.array([first]))[0])
        lo = int(restart_start(T_0, T_mult, n))
        while lo < first + out.size:
            t_i = T_0 * T_mult**n
            seg, at = trace.part(out, first, lo, lo + t_i)
            trace.cosine(seg, math.pi * (at - lo) / t_i, math.pi / t_i, eta + half, half)
            lo, n = lo + t_i, n + 1

    @property
    def cycle_length(self) -> int | None:
        return self._params["T_0"] if self._params["T_mult"] == 1 else None

    def code_body(self) -> str:
        p = self._params
        prelude = (
            "# CosineAnnealingWarmRestarts restarts at each group's initial lr: make that "
            "max_lr.\nfor group in optimizer.param_groups:\n"
            f"    group[\"lr\"] = {p['max_lr']!r}\n"
            "    group.pop(\"initial_lr\", None)\n\n")
        return codegen.builtin("CosineAnnealingWarmRestarts",
                               {"T_0": p["T_0"], "T_mult": p["T_mult"], "eta_min": p["base_lr"]},
                               prelude)
