"""Learning-rate (and momentum) schedules as pure, vectorised functions of the iteration.

A `Schedule` has no step counter: `lr(k)` is the learning rate after k scheduler steps,
computed in closed form for a whole numpy array at once, so a preview of 10^6 iterations
costs milliseconds. Where PyTorch has the policy (CyclicLR, OneCycleLR,
CosineAnnealingWarmRestarts) the names and the float64 arithmetic follow its source, so
the two agree step for step. Build schedules with `make_schedule` or `from_dict`; both
validate, and every bad input raises `ScheduleError` naming the parameter and the rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clr_core.errors import ScheduleError

__all__ = [
    "POLICIES",
    "PRESETS",
    "ParamSpec",
    "PolicySpec",
    "Preset",
    "Schedule",
    "from_dict",
    "make_schedule",
]

FLOAT, INT, BOOL, CHOICE = "float", "int", "bool", "choice"
SCALE_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a policy. `default` is what a form should show; `required`
    parameters have no default in `make_schedule` (the designer always sends them)."""

    name: str
    default: Any
    kind: str
    help: str
    choices: tuple[str, ...] | None = None
    optional: bool = False
    log: bool = False
    required: bool = False


@dataclass(frozen=True)
class PolicySpec:
    """A policy as the designer page shows it: widgets are built from `params`."""

    name: str
    label: str
    description: str
    params: list[ParamSpec] = field(default_factory=list)


@dataclass(frozen=True)
class Preset:
    """A named configuration from the literature; `config` is a `from_dict` input."""

    label: str
    description: str
    config: dict

    def schedule(self) -> Schedule:
        return from_dict(self.config)


# --------------------------------------------------------------------------- parameters


def _lr(name: str, default: float, help: str, *, required: bool = True) -> ParamSpec:
    return ParamSpec(name, default, FLOAT, help, log=True, required=required)


def _mom(name: str, default: float | None, help: str, *, optional: bool) -> ParamSpec:
    return ParamSpec(name, default, FLOAT, help, optional=optional)


_BASE = _lr("base_lr", 0.001, "Lower LR bound (Smith's CIFAR-10 example: 0.001). "
            "Rule of thumb: max_lr / 3 or / 4.")
_MAX = _lr("max_lr", 0.006, "Upper LR bound, from a range test (Smith's CIFAR-10 example: 0.006).")
_UP = ParamSpec("step_size_up", 2000, INT,
                "Iterations from base_lr to max_lr; Smith: 2-10 x iterations per epoch.",
                required=True)
_DOWN = ParamSpec("step_size_down", None, INT,
                  "Iterations from max_lr back to base_lr; empty = step_size_up.", optional=True)
_CYC_MOM = [
    _mom("base_momentum", None, "Momentum at the LR peak (cyclical momentum, e.g. 0.85); "
         "set both bounds to cycle momentum inversely to the LR.", optional=True),
    _mom("max_momentum", None, "Momentum at base_lr (e.g. 0.95); set both bounds or neither.",
         optional=True),
]
# Keras CLR / Smith's exp_range example uses 0.99994; torch's default of 1.0 would make
# exp_range identical to triangular.
_GAMMA_RANGE = ParamSpec("gamma", 0.99994, FLOAT,
                         "Amplitude multiplier per iteration, in (0, 1] (Smith/Keras: 0.99994).")


def _cyclic_params(extra: list[ParamSpec]) -> list[ParamSpec]:
    return [_BASE, _MAX, _UP, _DOWN, *extra, *_CYC_MOM]


_WINDOW_PARAMS = _cyclic_params([
    ParamSpec("scale_mode", "triangular", CHOICE,
              "Amplitude per cycle: constant (triangular), halved each cycle (triangular2) "
              "or gamma**iteration (exp_range).", choices=SCALE_MODES),
    ParamSpec("gamma", 0.99994, FLOAT, "Used by scale_mode=exp_range only; in (0, 1]."),
])

_ONE_CYCLE_PARAMS = [
    _lr("max_lr", 0.1, "Peak LR, from a range test (Smith 2018 reached 1.0-3.0 on CIFAR-10 "
        "with ResNet-56)."),
    ParamSpec("total_steps", 1000, INT, "Length of training in iterations; the schedule ends here.",
              required=True),
    ParamSpec("pct_start", 0.3, FLOAT, "Fraction of total_steps spent warming up, in (0, 1)."),
    ParamSpec("anneal_strategy", "cos", CHOICE, "Shape of each phase.", choices=("cos", "linear")),
    ParamSpec("div_factor", 25.0, FLOAT, "Start LR = max_lr / div_factor (Smith 2018: 10).",
              log=True),
    ParamSpec("final_div_factor", 1e4, FLOAT,
              "Final LR = start LR / final_div_factor (Smith's annihilation: 100, i.e. max/1000).",
              log=True),
    ParamSpec("three_phase", False, BOOL,
              "Smith's shape: up, symmetric down to the start LR, then annihilation."),
    ParamSpec("cycle_momentum", True, BOOL, "Cycle momentum inversely to the LR (Smith 2018)."),
    _mom("base_momentum", 0.85, "Momentum at the LR peak (Smith 2018: 0.85).", optional=False),
    _mom("max_momentum", 0.95, "Momentum at the start and end (Smith 2018: 0.95).", optional=False),
]

POLICIES: dict[str, PolicySpec] = {
    "triangular": PolicySpec(
        "triangular", "Triangular CLR (Smith 2015)",
        "The LR ramps linearly between base_lr and max_lr and back (Smith 2015, 'Cyclical "
        "Learning Rates', §3.1); identical to PyTorch CyclicLR(mode='triangular').",
        _cyclic_params([])),
    "triangular2": PolicySpec(
        "triangular2", "Triangular2 CLR (amplitude halves)",
        "Triangular, with the amplitude halved after every cycle (Smith 2015; PyTorch CyclicLR "
        "mode='triangular2'): matched 70k fixed-LR iterations on CIFAR-10 in 25k.",
        _cyclic_params([])),
    "exp_range": PolicySpec(
        "exp_range", "Exp-range CLR (amplitude x gamma^k)",
        "Triangular, with the amplitude scaled by gamma**iteration (Smith 2015; PyTorch CyclicLR "
        "mode='exp_range'); the paper's best CIFAR-10 result, 82.2%.",
        _cyclic_params([_GAMMA_RANGE])),
    "welch": PolicySpec(
        "welch", "Welch (parabolic) window CLR",
        "Smith (2015) §3.1: a parabolic Welch window 1-(2x-1)^2 instead of the triangle gave "
        "equivalent results; each half-cycle is mapped separately so the peak stays at step_size_up.",
        _WINDOW_PARAMS),
    "hann": PolicySpec(
        "hann", "Hann (sinusoidal) window CLR",
        "Smith (2015) §3.1: a sinusoidal Hann window sin^2(pi x) instead of the triangle gave "
        "equivalent results; each half-cycle is mapped separately so the peak stays at step_size_up.",
        _WINDOW_PARAMS),
    "one_cycle": PolicySpec(
        "one_cycle", "1cycle (Smith 2018)",
        "One cycle up to max_lr and down to far below the start, with momentum moving inversely "
        "(Smith 2018, 'A disciplined approach...'); identical to PyTorch OneCycleLR.",
        _ONE_CYCLE_PARAMS),
    "cosine_restarts": PolicySpec(
        "cosine_restarts", "Cosine with warm restarts (SGDR)",
        "Cosine decay from max_lr to base_lr, restarting every T_0 iterations, each cycle T_mult "
        "times longer (Loshchilov & Hutter 2017); identical to PyTorch CosineAnnealingWarmRestarts.",
        [_lr("max_lr", 0.006, "LR at the start of every cycle."),
         _lr("base_lr", 0.0, "LR at the end of every cycle (eta_min); may be 0.", required=False),
         ParamSpec("T_0", 2000, INT, "Iterations in the first cycle.", required=True),
         ParamSpec("T_mult", 1, INT, "Each cycle is T_mult times longer than the previous one.")]),
    "decay": PolicySpec(
        "decay", "Linear decay (Smith 2015 baseline)",
        "Linear from max_lr down to base_lr over step_size iterations, then flat: Smith's (2015) "
        "control showing that the increasing half of CLR matters (78.5% vs 81.4%).",
        [_lr("base_lr", 0.001, "LR after the decay."), _lr("max_lr", 0.006, "Starting LR."),
         ParamSpec("step_size", 2000, INT, "Iterations of the linear decay.", required=True)]),
    "exp": PolicySpec(
        "exp", "Exponential decay (Caffe 'exp')",
        "base_lr * gamma**iteration, Caffe's 'exp' policy and a baseline in Smith (2015).",
        [_lr("base_lr", 0.006, "LR at iteration 0."),
         ParamSpec("gamma", 0.9999, FLOAT, "Multiplier per iteration, in (0, 1].", required=True)]),
    "step": PolicySpec(
        "step", "Step decay (Caffe 'step', StepLR)",
        "base_lr * gamma**floor(iteration / step_size): the classic annealing of Caffe's 'step' "
        "policy and PyTorch StepLR.",
        [_lr("base_lr", 0.006, "LR at iteration 0."),
         ParamSpec("gamma", 0.1, FLOAT, "Multiplier every step_size iterations, in (0, 1].",
                   required=True),
         ParamSpec("step_size", 2000, INT, "Iterations between drops.", required=True)]),
    "fixed": PolicySpec(
        "fixed", "Fixed LR",
        "A constant LR: Smith's (2015) baseline, 81.4% on CIFAR-10 after 70,000 iterations.",
        [_lr("lr", 0.001, "The learning rate.")]),
}


# --------------------------------------------------------------------------- validation


def _coerce(policy: str, spec: ParamSpec, value: Any) -> Any:
    """Normalise one value to its kind, refusing what JSON or a form could get wrong."""
    name = spec.name
    if value is None:
        if spec.optional:
            return None
        raise ScheduleError(f"{policy}: {name} must be given (None is only allowed for optional "
                            "parameters).")
    if spec.kind in (FLOAT, INT):
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise ScheduleError(f"{policy}: {name} must be a number, got {type(value).__name__} "
                                f"{value!r}.")
        as_float = float(value)
        if not math.isfinite(as_float):
            raise ScheduleError(f"{policy}: {name} must be finite, got {value!r}.")
        if spec.kind == FLOAT:
            return as_float
        if not as_float.is_integer():
            raise ScheduleError(f"{policy}: {name} must be an integer, got {value!r}.")
        return int(value)
    if spec.kind == BOOL:
        if not isinstance(value, (bool, np.bool_)):
            raise ScheduleError(f"{policy}: {name} must be true or false, got "
                                f"{type(value).__name__} {value!r}.")
        return bool(value)
    if not isinstance(value, str) or value not in (spec.choices or ()):
        raise ScheduleError(f"{policy}: {name} must be one of {list(spec.choices or ())}, got "
                            f"{value!r}.")
    return value


def _positive(policy: str, p: dict, name: str) -> None:
    if p[name] <= 0:
        raise ScheduleError(f"{policy}: {name} must be > 0, got {p[name]!r}.")


def _at_least_one(policy: str, p: dict, name: str) -> None:
    if p[name] is not None and p[name] < 1:
        raise ScheduleError(f"{policy}: {name} must be an integer >= 1, got {p[name]!r}.")


def _bounds(policy: str, p: dict, lo: str = "base_lr", hi: str = "max_lr") -> None:
    if p[lo] >= p[hi]:
        raise ScheduleError(f"{policy}: {lo} ({p[lo]!r}) must be < {hi} ({p[hi]!r}).")


def _gamma(policy: str, p: dict) -> None:
    if not 0 < p["gamma"] <= 1:
        raise ScheduleError(f"{policy}: gamma must be in (0, 1], got {p['gamma']!r}.")


def _momenta(policy: str, p: dict) -> None:
    lo, hi = p["base_momentum"], p["max_momentum"]
    if (lo is None) != (hi is None):
        missing = "max_momentum" if hi is None else "base_momentum"
        raise ScheduleError(f"{policy}: base_momentum and max_momentum go together; "
                            f"{missing} is missing.")
    if lo is None:
        return
    for name in ("base_momentum", "max_momentum"):
        if not 0 <= p[name] < 1:
            raise ScheduleError(f"{policy}: {name} must be in [0, 1), got {p[name]!r}.")
    if lo > hi:
        raise ScheduleError(f"{policy}: base_momentum ({lo!r}) must be <= max_momentum ({hi!r}).")


def _check_cyclic(policy: str, p: dict) -> None:
    _positive(policy, p, "base_lr")
    _positive(policy, p, "max_lr")
    _bounds(policy, p)
    _at_least_one(policy, p, "step_size_up")
    _at_least_one(policy, p, "step_size_down")
    if "gamma" in p:
        _gamma(policy, p)
    _momenta(policy, p)


def _one_cycle_phases(p: dict) -> list[tuple[float, str, str, str, str]]:
    """Torch's phase table: (end_step, start_lr, end_lr, start_mom, end_mom). The float
    boundaries are kept on purpose so that we agree with OneCycleLR step for step."""
    total, pct = p["total_steps"], p["pct_start"]
    if p["three_phase"]:
        return [
            (float(pct * total) - 1, "initial", "max", "max_m", "base_m"),
            (float(2 * pct * total) - 2, "max", "initial", "base_m", "max_m"),
            (total - 1, "initial", "min", "max_m", "max_m"),
        ]
    return [
        (float(pct * total) - 1, "initial", "max", "max_m", "base_m"),
        (total - 1, "max", "min", "base_m", "max_m"),
    ]


def _check_one_cycle(policy: str, p: dict) -> None:
    _positive(policy, p, "max_lr")
    _at_least_one(policy, p, "total_steps")
    if not 0 < p["pct_start"] < 1:
        raise ScheduleError(f"{policy}: pct_start must be in (0, 1), got {p['pct_start']!r}.")
    for name in ("div_factor", "final_div_factor"):
        if p[name] < 1:
            raise ScheduleError(f"{policy}: {name} must be >= 1 (the LR must not start or end "
                                f"above max_lr), got {p[name]!r}.")
    _momenta(policy, p)
    start = 0.0
    for end, *_ in _one_cycle_phases(p):
        if end == start:  # torch would divide by zero here
            raise ScheduleError(f"{policy}: pct_start={p['pct_start']!r} with total_steps="
                                f"{p['total_steps']} leaves a phase of zero length; change "
                                "pct_start or total_steps.")
        start = end


def _check_cosine(policy: str, p: dict) -> None:
    _positive(policy, p, "max_lr")
    if p["base_lr"] < 0:
        raise ScheduleError(f"{policy}: base_lr must be >= 0, got {p['base_lr']!r}.")
    _bounds(policy, p)
    _at_least_one(policy, p, "T_0")
    _at_least_one(policy, p, "T_mult")


def _check_decay(policy: str, p: dict) -> None:
    _positive(policy, p, "base_lr")
    _positive(policy, p, "max_lr")
    _bounds(policy, p)
    _at_least_one(policy, p, "step_size")


def _check_exp(policy: str, p: dict) -> None:
    _positive(policy, p, "base_lr")
    _gamma(policy, p)
    if "step_size" in p:
        _at_least_one(policy, p, "step_size")


def _check_fixed(policy: str, p: dict) -> None:
    _positive(policy, p, "lr")


def _validate(policy: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(policy, str) or policy not in POLICIES:
        raise ScheduleError(f"policy: unknown policy {policy!r}; valid policies: "
                            f"{', '.join(POLICIES)}.")
    specs = {s.name: s for s in POLICIES[policy].params}
    unknown = [name for name in params if name not in specs]
    if unknown:
        raise ScheduleError(f"{policy}: unknown parameter(s) {', '.join(map(str, unknown))}; "
                            f"valid parameters: {', '.join(specs)}.")
    missing = [s.name for s in specs.values() if s.required and s.name not in params]
    if missing:
        raise ScheduleError(f"{policy}: missing required parameter(s) {', '.join(missing)}.")
    out = {
        name: _coerce(policy, spec, params.get(name, spec.default))
        for name, spec in specs.items()
    }
    _CHECKS[policy](policy, out)
    return out


# --------------------------------------------------------------------------- schedules


def _iterations(iterations: Any, total_steps: int | None) -> np.ndarray:
    """Integer iterations >= 0 as int64; integral floats are accepted (e.g. a rounded
    linspace), anything else is refused rather than silently truncated."""
    try:
        k = np.asarray(iterations)
    except (OverflowError, ValueError, TypeError) as exc:
        raise ScheduleError(f"iterations: must be integers, got {iterations!r}.") from exc
    if k.dtype.kind == "f":
        if not np.all(np.isfinite(k)) or np.any(k != np.floor(k)):
            raise ScheduleError("iterations: must be integers (got non-integer values).")
    elif k.dtype.kind not in "iu":
        raise ScheduleError(f"iterations: must be integers, got dtype {k.dtype}.")
    if k.size and k.min() < 0:
        raise ScheduleError(f"iterations: must be >= 0, got {k.min()}.")
    if total_steps is not None and k.size and k.max() > total_steps:
        raise ScheduleError(f"iterations: {k.max()} is past total_steps={total_steps} "
                            "(torch's OneCycleLR raises there too).")
    return k.astype(np.int64, copy=False)


class Schedule:
    """A validated policy + parameters. Pure: `lr(k)` depends on k only; no step counter."""

    __slots__ = ("_params", "_policy")

    def __new__(cls, policy: str, params: Mapping[str, Any]):
        # Schedule(policy, params) builds the policy's own class, like make_schedule
        if cls is Schedule and isinstance(policy, str):
            cls = _CLASSES.get(policy, Schedule)
        return super().__new__(cls)

    def __init__(self, policy: str, params: Mapping[str, Any]):
        object.__setattr__(self, "_policy", policy)
        object.__setattr__(self, "_params", _validate(policy, params))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Schedule is immutable; build a new one with make_schedule.")

    @property
    def policy(self) -> str:
        return self._policy

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter, defaults included (a copy: schedules are immutable)."""
        return dict(self._params)

    # -- values
    def lr(self, iterations: Any) -> np.ndarray:
        """LR after k scheduler steps; float64 array shaped like `iterations`."""
        k = _iterations(iterations, self.total_steps)
        return np.asarray(self._lr(k.reshape(-1)), dtype=np.float64).reshape(k.shape)

    def momentum(self, iterations: Any) -> np.ndarray | None:
        """Momentum (SGD momentum / Adam beta1) after k steps, or None if not scheduled."""
        if not self.has_momentum:
            return None
        k = _iterations(iterations, self.total_steps)
        return np.asarray(self._momentum(k.reshape(-1)), dtype=np.float64).reshape(k.shape)

    @property
    def has_momentum(self) -> bool:
        return False

    @property
    def cycle_length(self) -> int | None:
        """Iterations per cycle when constant; None for non-cyclic or growing cycles."""
        return None

    @property
    def total_steps(self) -> int | None:
        """Hard end of the schedule (only one_cycle has one)."""
        return None

    def _lr(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _momentum(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- exchange
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe config; `from_dict(s.to_dict()) == s`."""
        return {"policy": self._policy, **self._params}

    def to_torch(self, optimizer: Any, **kwargs: Any) -> Any:
        """A `ScheduleLR` driving `optimizer` (kwargs: lr_scale, last_epoch)."""
        from clr_core.torch_scheduler import ScheduleLR

        return ScheduleLR(optimizer, self, **kwargs)

    def to_code(self) -> str:
        """Standalone PyTorch source defining `scheduler` for an `optimizer` in scope."""
        from clr_core.codegen import schedule_to_code

        return schedule_to_code(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self._policy == other._policy and self._params == other._params

    def __hash__(self) -> int:
        return hash((self._policy, tuple(sorted(self._params.items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"make_schedule({self._policy!r}, {args})"

    def __reduce__(self):
        return (from_dict, (self.to_dict(),))


class _Cyclic(Schedule):
    """CyclicLR's closed form (torch's arithmetic, operation for operation), with an
    optional window reshaping the 0 -> 1 -> 0 tent."""

    __slots__ = ()

    def _phase(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray | float]:
        """(window, amplitude factor). In-place numpy ops keep torch's rounding (each op
        is the same IEEE operation) while sparing the allocations of 10^6-element temporaries."""
        p = self._params
        up = float(p["step_size_up"])
        down = float(p["step_size_down"]) if p["step_size_down"] is not None else up
        total = up + down
        ratio = up / total
        x = k / total
        x += 1.0  # t = 1 + k / total
        cycle = np.floor(x)
        x -= cycle  # x = t - cycle
        rising = x <= ratio
        tent = x - 1
        tent /= ratio - 1
        np.divide(x, ratio, out=tent, where=rising)
        return self._window(tent), self._amplitude(k, cycle)

    def _window(self, tent: np.ndarray) -> np.ndarray:
        return tent

    def _mode(self) -> str:
        return self._policy

    def _amplitude(self, k: np.ndarray, cycle: np.ndarray) -> np.ndarray | float:
        mode = self._mode()
        if mode == "triangular2":  # torch's 1 / 2.0**(cycle-1), without its overflow
            return np.power(2.0, np.subtract(1, cycle, out=cycle), out=cycle)
        if mode == "exp_range":
            return self._params["gamma"] ** k.astype(np.float64)
        return 1.0

    @staticmethod
    def _height(scale: np.ndarray, span: float, f: np.ndarray | float) -> np.ndarray:
        """(span * scale) * f, torch's order, in place."""
        scale *= span
        if not (isinstance(f, float) and f == 1.0):
            scale *= f
        return scale

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        scale, f = self._phase(k)
        out = self._height(scale, p["max_lr"] - p["base_lr"], f)
        out += p["base_lr"]  # base + height
        return out

    def _momentum(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        scale, f = self._phase(k)
        out = self._height(scale, p["max_momentum"] - p["base_momentum"], f)
        return np.subtract(p["max_momentum"], out, out=out)

    @property
    def has_momentum(self) -> bool:
        return self._params["base_momentum"] is not None

    @property
    def cycle_length(self) -> int:
        p = self._params
        down = p["step_size_down"] if p["step_size_down"] is not None else p["step_size_up"]
        return p["step_size_up"] + down


class _Window(_Cyclic):
    """Welch/Hann: the window evaluated at x' = tent/2 (rising) or 1 - tent/2 (falling),
    which maps each half-cycle separately; both windows are symmetric, so it reduces to
    a function of the tent."""

    __slots__ = ()

    def _window(self, tent: np.ndarray) -> np.ndarray:
        if self._policy == "welch":
            return 1.0 - (tent - 1.0) ** 2
        return np.sin(np.pi * tent / 2) ** 2

    def _mode(self) -> str:
        return self._params["scale_mode"]


class _OneCycle(Schedule):
    """OneCycleLR's closed form, float phase boundaries included."""

    __slots__ = ()

    def _levels(self) -> dict[str, float]:
        p = self._params
        initial = p["max_lr"] / p["div_factor"]
        return {"initial": initial, "max": p["max_lr"], "min": initial / p["final_div_factor"],
                "max_m": p["max_momentum"], "base_m": p["base_momentum"]}

    def _anneal(self, a: float, b: float, pct: np.ndarray) -> np.ndarray:
        if self._params["anneal_strategy"] == "cos":
            return b + (a - b) / 2.0 * (np.cos(np.pi * pct) + 1)
        return (b - a) * pct + a

    def _run(self, k: np.ndarray, which: slice) -> np.ndarray:
        levels = self._levels()
        phases = _one_cycle_phases(self._params)
        out = np.empty(k.shape, dtype=np.float64)
        todo = np.ones(k.shape, dtype=bool)
        start = 0.0
        for i, phase in enumerate(phases):
            end = phase[0]
            sel = todo if i == len(phases) - 1 else todo & (k <= end)
            a, b = (levels[name] for name in phase[1:][which])
            out[sel] = self._anneal(a, b, (k[sel] - start) / (end - start))
            todo &= ~sel
            start = end
        return out

    def _lr(self, k: np.ndarray) -> np.ndarray:
        return self._run(k, slice(0, 2))

    def _momentum(self, k: np.ndarray) -> np.ndarray:
        return self._run(k, slice(2, 4))

    @property
    def has_momentum(self) -> bool:
        return self._params["cycle_momentum"]

    @property
    def cycle_length(self) -> int:
        return self._params["total_steps"]

    @property
    def total_steps(self) -> int:
        return self._params["total_steps"]


def _restart_start(T_0: int, T_mult: int, n: np.ndarray) -> np.ndarray:
    """First iteration of cycle n (0-based) when each cycle is T_mult times longer."""
    return T_0 * (T_mult**n - 1) // (T_mult - 1)


class _CosineRestarts(Schedule):
    """CosineAnnealingWarmRestarts with integer T_cur/T_i, as torch keeps them."""

    __slots__ = ()

    def _cursor(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        T_0, T_mult = self._params["T_0"], self._params["T_mult"]
        if T_mult == 1:
            return k % T_0, np.full(k.shape, T_0, dtype=np.int64)
        n = np.floor(np.log(k / T_0 * (T_mult - 1) + 1) / math.log(T_mult)).astype(np.int64)
        n = np.maximum(n, 0)
        # float log can be one off at the boundaries: settle n with exact integers
        n = np.where(_restart_start(T_0, T_mult, n) > k, n - 1, n)
        n = np.where(_restart_start(T_0, T_mult, n + 1) <= k, n + 1, n)
        return k - _restart_start(T_0, T_mult, n), T_0 * T_mult**n

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        t_cur, t_i = self._cursor(k)
        eta = p["base_lr"]
        return eta + (p["max_lr"] - eta) * (1 + np.cos(np.pi * t_cur / t_i)) / 2

    @property
    def cycle_length(self) -> int | None:
        return self._params["T_0"] if self._params["T_mult"] == 1 else None


class _Decay(Schedule):
    __slots__ = ()

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        s = p["step_size"]
        # anchored at base_lr so the flat tail is exactly base_lr
        return p["base_lr"] + (p["max_lr"] - p["base_lr"]) * ((s - np.minimum(k, s)) / s)


class _Exp(Schedule):
    __slots__ = ()

    def _lr(self, k: np.ndarray) -> np.ndarray:
        p = self._params
        n = k // p["step_size"] if self._policy == "step" else k
        return p["base_lr"] * p["gamma"] ** n.astype(np.float64)


class _Fixed(Schedule):
    __slots__ = ()

    def _lr(self, k: np.ndarray) -> np.ndarray:
        return np.full(k.shape, self._params["lr"], dtype=np.float64)


_CLASSES: dict[str, type[Schedule]] = {
    "triangular": _Cyclic, "triangular2": _Cyclic, "exp_range": _Cyclic,
    "welch": _Window, "hann": _Window, "one_cycle": _OneCycle,
    "cosine_restarts": _CosineRestarts, "decay": _Decay, "exp": _Exp, "step": _Exp,
    "fixed": _Fixed,
}
_CHECKS: dict[str, Callable[[str, dict], None]] = {
    "triangular": _check_cyclic, "triangular2": _check_cyclic, "exp_range": _check_cyclic,
    "welch": _check_cyclic, "hann": _check_cyclic, "one_cycle": _check_one_cycle,
    "cosine_restarts": _check_cosine, "decay": _check_decay, "exp": _check_exp,
    "step": _check_exp, "fixed": _check_fixed,
}


def make_schedule(policy: str, **params: Any) -> Schedule:
    """Validated schedule; raises ScheduleError naming the parameter and the rule."""
    if not isinstance(policy, str) or policy not in _CLASSES:
        _validate(policy, params)  # raises the unknown-policy error
    return _CLASSES[policy](policy, params)


def from_dict(d: Mapping[str, Any]) -> Schedule:
    """Inverse of `Schedule.to_dict`; validates exactly like make_schedule."""
    if not isinstance(d, Mapping):
        raise ScheduleError(f"policy: a schedule config must be a dict, got {type(d).__name__}.")
    if "policy" not in d:
        raise ScheduleError("policy: the config has no 'policy' key.")
    params = {k: v for k, v in d.items() if k != "policy"}
    bad = [k for k in params if not isinstance(k, str)]
    if bad:
        raise ScheduleError(f"{d['policy']}: parameter names must be strings, got {bad!r}.")
    return make_schedule(d["policy"], **params)


# --------------------------------------------------------------------------- presets

PRESETS: dict[str, Preset] = {
    "smith2015_triangular": Preset(
        "Smith 2015 triangular (CIFAR-10)",
        "Smith (2015) CIFAR-10 example: base_lr 0.001, max_lr 0.006, stepsize 2000 "
        "(4 epochs of 500 iterations).",
        {"policy": "triangular", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000}),
    "smith2015_triangular2": Preset(
        "Smith 2015 triangular2 (CIFAR-10)",
        "The same bounds with the amplitude halved every cycle; reached the fixed-LR accuracy "
        "(81.4%) in 25,000 instead of 70,000 iterations.",
        {"policy": "triangular2", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000}),
    "smith2015_exp_range": Preset(
        "Smith 2015 exp_range (CIFAR-10)",
        "The same bounds with the amplitude decaying as 0.99994**iteration; the paper's best "
        "CIFAR-10 result (82.2% at 42,000 iterations).",
        {"policy": "exp_range", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000,
         "gamma": 0.99994}),
    "smith2018_one_cycle": Preset(
        "Smith 2018 1cycle (linear, annihilation)",
        "Smith's (2018) 1cycle: linear from max/10 up to max and back in equal steps, then "
        "annihilation to max/1000; momentum 0.95 -> 0.85 -> 0.95, held at 0.95 at the end.",
        {"policy": "one_cycle", "max_lr": 0.1, "total_steps": 1000, "pct_start": 0.45,
         "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0,
         "three_phase": True, "cycle_momentum": True, "base_momentum": 0.85,
         "max_momentum": 0.95}),
    "fastai_fit_one_cycle": Preset(
        "fastai fit_one_cycle",
        "fastai's defaults: cosine, 25% warm-up from max/25, ending at max/1e5 (div_final; "
        "torch's final_div_factor is relative to the start LR, hence 1e5/25 = 4000); "
        "moms 0.95 -> 0.85 -> 0.95. fastai's phase split differs from torch's by < 1 step.",
        {"policy": "one_cycle", "max_lr": 0.001, "total_steps": 1000, "pct_start": 0.25,
         "anneal_strategy": "cos", "div_factor": 25.0, "final_div_factor": 4000.0,
         "three_phase": False, "cycle_momentum": True, "base_momentum": 0.85,
         "max_momentum": 0.95}),
    "torch_one_cycle": Preset(
        "PyTorch OneCycleLR defaults",
        "OneCycleLR's defaults: cosine, 30% warm-up from max/25, ending at max/(25 x 1e4).",
        {"policy": "one_cycle", "max_lr": 0.1, "total_steps": 1000}),
    "sgdr": Preset(
        "SGDR (Loshchilov & Hutter 2017)",
        "Cosine annealing with warm restarts, each cycle twice as long as the previous one "
        "(T_mult = 2), down to 0.",
        {"policy": "cosine_restarts", "max_lr": 0.05, "base_lr": 0.0, "T_0": 500, "T_mult": 2}),
}
