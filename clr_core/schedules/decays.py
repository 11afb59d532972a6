"""The baselines Smith (2015) compares CLR with: linear decay, Caffe's exp and step
policies, and a fixed LR. Exported as exact LambdaLRs (StepLR and ExponentialLR multiply
the previous LR every step and drift from the closed form by a few ulps).

    decay: lr(k) = base_lr + (max_lr - base_lr) * (s - min(k, s)) / s     (s = step_size)
    exp:   lr(k) = base_lr * gamma**k
    step:  lr(k) = base_lr * gamma**floor(k / step_size)
    fixed: lr(k) = lr

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> make_schedule("decay", base_lr=1.0, max_lr=3.0, step_size=4).lr(np.arange(6)).tolist()
[3.0, 2.5, 2.0, 1.5, 1.0, 1.0]
>>> make_schedule("exp", base_lr=1.0, gamma=0.5).lr(np.arange(4)).tolist()
[1.0, 0.5, 0.25, 0.125]
>>> make_schedule("step", base_lr=1.0, gamma=0.5, step_size=2).lr(np.arange(7)).tolist()
[1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
>>> make_schedule("fixed", lr=0.25).lr([0, 1000]).tolist()
[0.25, 0.25]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from clr_core.schedules import codegen, trace
from clr_core.schedules.base import Schedule
from clr_core.schedules.cyclic import SMITH_2015
from clr_core.schedules.spec import (
    FLOAT,
    INT,
    ParamSpec,
    PolicySpec,
    at_least_one,
    bounds,
    lr_param,
    positive,
    unit_gamma,
)

__all__ = ["Exp", "Fixed", "LinearDecay", "Step"]

CAFFE = "Yangqing Jia et al., 'Caffe: Convolutional Architecture for Fast Feature Embedding', 2014"


class LinearDecay(Schedule):
    __slots__ = ()
    spec = PolicySpec(
        "decay", "Linear decay (Smith 2015 baseline)",
        "Linear from max_lr down to base_lr over step_size iterations, then flat: Smith's (2015) "
        "control showing that the increasing half of CLR matters (78.5% vs 81.4%).",
        [lr_param("base_lr", 0.001, "LR after the decay."), lr_param("max_lr", 0.006, "Starting LR."),
         ParamSpec("step_size", 2000, INT, "Iterations of the linear decay.", required=True)],
        source=SMITH_2015, family="decays")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        positive("decay", p, "base_lr", "max_lr")
        bounds("decay", p)
        at_least_one("decay", p, "step_size")

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        s = p["step_size"]
        # anchored at base_lr so the flat tail is exactly base_lr
        return p["base_lr"] + (p["max_lr"] - p["base_lr"]) * ((s - np.minimum(k, s)) / s)

    def _trace(self, out: np.ndarray, first: int) -> None:
        p = self._params
        s, base, span = p["step_size"], p["base_lr"], p["max_lr"] - p["base_lr"]
        seg, at = trace.part(out, first, 0, s)
        trace.affine(seg, base + span * ((s - at) / s), -span / s)
        trace.fill(trace.part(out, first, s)[0], base)

    def code_body(self) -> str:
        p = self._params
        return codegen.lambda_code(
            [f"BASE_LR = {p['base_lr']!r}", f"MAX_LR = {p['max_lr']!r}",
             f"STEP_SIZE = {p['step_size']!r}"],
            "BASE_LR + (MAX_LR - BASE_LR) * ((STEP_SIZE - min(k, STEP_SIZE)) / STEP_SIZE)")


class Exp(Schedule):
    __slots__ = ()
    spec = PolicySpec(
        "exp", "Exponential decay (Caffe 'exp')",
        "base_lr * gamma**iteration, Caffe's 'exp' policy and a baseline in Smith (2015).",
        [lr_param("base_lr", 0.006, "LR at iteration 0."),
         ParamSpec("gamma", 0.9999, FLOAT, "Multiplier per iteration, in (0, 1].", required=True)],
        source=CAFFE, family="decays")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        positive(cls.spec.name, p, "base_lr")
        unit_gamma(cls.spec.name, p)

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        return p["base_lr"] * p["gamma"] ** k.astype(np.float64)

    def _trace(self, out: np.ndarray, first: int) -> None:
        p = self._params
        trace.exponential(out, p["base_lr"] * p["gamma"] ** float(first), math.log(p["gamma"]))

    def code_body(self) -> str:
        p = self._params
        return codegen.lambda_code([f"BASE_LR = {p['base_lr']!r}", f"GAMMA = {p['gamma']!r}"],
                                   "BASE_LR * GAMMA ** k")


class Step(Exp):
    __slots__ = ()
    spec = PolicySpec(
        "step", "Step decay (Caffe 'step', StepLR)",
        "base_lr * gamma**floor(iteration / step_size): the classic annealing of Caffe's 'step' "
        "policy and PyTorch StepLR.",
        [lr_param("base_lr", 0.006, "LR at iteration 0."),
         ParamSpec("gamma", 0.1, FLOAT, "Multiplier every step_size iterations, in (0, 1].",
                   required=True),
         ParamSpec("step_size", 2000, INT, "Iterations between drops.", required=True)],
        source=CAFFE, family="decays")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        super().check(p)
        at_least_one(cls.spec.name, p, "step_size")

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        if not k.size:
            return np.empty(0)
        n = k // p["step_size"]
        first, last = int(n.min()), int(n.max())
        # one power per distinct step, gathered: the same values as a power per iteration.
        # Sparse steps (a probe spread over millions of iterations) take only the steps they
        # hold; a dense range, the arange (no sort).
        if last - first + 1 > 2 * n.size:
            steps, where = np.unique(n, return_inverse=True)
            return p["base_lr"] * p["gamma"] ** steps.astype(np.float64)[where.reshape(n.shape)]
        levels = p["base_lr"] * p["gamma"] ** np.arange(first, last + 1, dtype=np.float64)
        return levels[n - first]

    def _trace(self, out: np.ndarray, first: int) -> None:
        """A fill per drop (the closed form when the drops are too many to loop over)."""
        p = self._params
        size = p["step_size"]
        drops = range(first // size, (first + out.size - 1) // size + 1)
        if len(drops) > 1024:
            return trace.chunked(out, first, self._lr)
        for n in drops:
            trace.fill(trace.part(out, first, n * size, (n + 1) * size)[0],
                       p["base_lr"] * p["gamma"] ** float(n))

    def code_body(self) -> str:
        p = self._params
        return codegen.lambda_code(
            [f"BASE_LR = {p['base_lr']!r}", f"GAMMA = {p['gamma']!r}",
             f"STEP_SIZE = {p['step_size']!r}"], "BASE_LR * GAMMA ** (k // STEP_SIZE)")


class Fixed(Schedule):
    __slots__ = ()
    spec = PolicySpec(
        "fixed", "Fixed LR",
        "A constant LR: Smith's (2015) baseline, 81.4% on CIFAR-10 after 70,000 iterations.",
        [lr_param("lr", 0.001, "The learning rate.")], source=SMITH_2015, family="decays")

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        positive("fixed", p, "lr")

    def _lr(self, k: np.ndarray) -> np.ndarray:
        return np.full(k.shape, self._params["lr"], dtype=np.float64)

    def _trace(self, out: np.ndarray, first: int) -> None:
        trace.fill(out, self._params["lr"])

    def code_body(self) -> str:
        return codegen.lambda_code([f"LR = {self._params['lr']!r}"], "LR")

    def hf_export(self) -> tuple[str, float, dict[str, Any]]:
        return "constant", self._params["lr"], {}
