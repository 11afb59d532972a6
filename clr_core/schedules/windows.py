"""Smith's (2015) windowed cycles: Welch (parabolic) and Hann (sinusoidal) instead of the
triangle (§3.1 found them equivalent). Exported as an exact LambdaLR.

With tent(k) the triangular policy's 0 -> 1 -> 0 scale and x' = tent / 2 while it rises,
1 - tent / 2 while it falls (so x' runs 0 -> 1 over the cycle):

    welch: w(k) = 1 - (2 x' - 1)**2          hann: w(k) = sin(pi x')**2
    lr(k) = base_lr + (max_lr - base_lr) * w(k)

Both are 0 at the cycle's ends and 1 at its middle, like the triangle.

>>> import numpy as np
>>> from clr_core.schedules import make_schedule
>>> make_schedule("welch", base_lr=1.0, max_lr=2.0, step_size_up=4).lr(np.arange(9)).tolist()
[1.0, 1.4375, 1.75, 1.9375, 2.0, 1.9375, 1.75, 1.4375, 1.0]
>>> lr = make_schedule("hann", base_lr=1.0, max_lr=2.0, step_size_up=4).lr(np.arange(9))
>>> np.round(lr, 6).tolist()
[1.0, 1.146447, 1.5, 1.853553, 2.0, 1.853553, 1.5, 1.146447, 1.0]
"""

from __future__ import annotations

import numpy as np

from clr_core.schedules import codegen
from clr_core.schedules.cyclic import SMITH_2015, Cyclic, cyclic_params
from clr_core.schedules.spec import CHOICE, FLOAT, ParamSpec, PolicySpec

__all__ = ["Hann", "Welch", "Window"]

SCALE_MODES = ("triangular", "triangular2", "exp_range")

_WINDOW_PARAMS = cyclic_params([
    ParamSpec("scale_mode", "triangular", CHOICE,
              "Amplitude per cycle: constant (triangular), halved each cycle (triangular2) "
              "or gamma**iteration (exp_range).", choices=SCALE_MODES),
    ParamSpec("gamma", 0.99994, FLOAT, "Used by scale_mode=exp_range only; in (0, 1]."),
])

_CYCLE_PHASE = '''

def _phase(k):
    """Position in the cycle as torch's CyclicLR computes it: (window, amplitude)."""
    t = 1.0 + k / TOTAL_SIZE
    cycle = math.floor(t)
    x = t - cycle
    tent = x / STEP_RATIO if x <= STEP_RATIO else (x - 1) / (STEP_RATIO - 1)
    return {window}, {amplitude}


def lr_at(k):
    window, amplitude = _phase(k)
    return BASE_LR + (MAX_LR - BASE_LR) * window * amplitude
'''

_CYCLE_MOMENTUM = '''

def momentum_at(k):
    window, amplitude = _phase(k)
    return MAX_MOMENTUM - (MAX_MOMENTUM - BASE_MOMENTUM) * window * amplitude
'''


class Window(Cyclic):
    """The window evaluated at x' = tent/2 (rising) or 1 - tent/2 (falling), which maps
    each half-cycle separately; both windows are symmetric, so it reduces to a function
    of the tent."""

    __slots__ = ()
    window_code = ""

    def _mode(self) -> str:
        return self._params["scale_mode"]

    def code_body(self) -> str:
        p = self._params
        up = float(p["step_size_up"])
        down = float(p["step_size_down"]) if p["step_size_down"] is not None else up
        total = up + down
        mode = p["scale_mode"]
        consts = [f"BASE_LR = {p['base_lr']!r}", f"MAX_LR = {p['max_lr']!r}",
                  f"TOTAL_SIZE = {total!r}  # step_size_up + step_size_down",
                  f"STEP_RATIO = {up / total!r}  # step_size_up / TOTAL_SIZE"]
        if mode == "exp_range":
            consts.append(f"GAMMA = {p['gamma']!r}")
        if p["base_momentum"] is not None:
            consts += [f"BASE_MOMENTUM = {p['base_momentum']!r}",
                       f"MAX_MOMENTUM = {p['max_momentum']!r}"]
        amplitude = {"triangular": "1.0", "triangular2": "2.0 ** (1 - cycle)",
                     "exp_range": "GAMMA ** k"}[mode]
        src = ("import math\n\nimport torch\n\n" + "\n".join(consts) + "\n"
               + _CYCLE_PHASE.format(window=self.window_code, amplitude=amplitude))
        if p["base_momentum"] is not None:
            return src + _CYCLE_MOMENTUM + codegen.SET_LR + codegen.MOMENTUM_CLASS
        return (src + codegen.SET_LR
                + "\nscheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lr_at)\n")


class Welch(Window):
    __slots__ = ()
    window_code = "1.0 - (tent - 1.0) ** 2"
    spec = PolicySpec(
        "welch", "Welch (parabolic) window CLR",
        "Smith (2015) §3.1: a parabolic Welch window 1-(2x-1)^2 instead of the triangle gave "
        "equivalent results; each half-cycle is mapped separately so the peak stays at "
        "step_size_up.", _WINDOW_PARAMS, source=SMITH_2015, family="cyclic")

    def _window(self, tent: np.ndarray) -> np.ndarray:
        return 1.0 - (tent - 1.0) ** 2


class Hann(Window):
    __slots__ = ()
    window_code = "math.sin(math.pi * tent / 2) ** 2"
    spec = PolicySpec(
        "hann", "Hann (sinusoidal) window CLR",
        "Smith (2015) §3.1: a sinusoidal Hann window sin^2(pi x) instead of the triangle gave "
        "equivalent results; each half-cycle is mapped separately so the peak stays at "
        "step_size_up.", _WINDOW_PARAMS, source=SMITH_2015, family="cyclic")

    def _window(self, tent: np.ndarray) -> np.ndarray:
        return np.sin(np.pi * tent / 2) ** 2
