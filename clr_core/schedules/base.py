"""The `Schedule` base class: a validated policy + parameters, pure in the iteration.

A `Schedule` has no step counter: `lr(k)` is the learning rate after k scheduler steps,
computed in closed form for a whole numpy array at once, so a preview of a long run stays
interactive (``bench/preview.py`` times it). A policy is one subclass that sets `spec` (its parameters, defaults
and help), and overrides `check` (its rules), `_lr` (its closed form) and, where it has
standalone code, `code_body`; defining the class registers it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from clr_core.errors import ScheduleError
from clr_core.schedules import codegen, trace
from clr_core.schedules.ramp import apply_ramp, ramp_code, validate_ramp
from clr_core.schedules.registry import from_dict, policy_class, register
from clr_core.schedules.shapes import shape_trace
from clr_core.schedules.spec import PolicySpec, coerce

# Closed forms run several numpy passes; on chunks that stay in the CPU cache those passes
# cost a fraction of what they cost over a 10^6-element array streamed from memory.
from clr_core.schedules.trace import CHUNK
from clr_core.validation import MAX_ITERATIONS

__all__ = [
    "Schedule",
    "iterations",
]


def iterations(values: Any, total_steps: int | None = None) -> np.ndarray:
    """Integer iterations >= 0 as int64; integral floats are accepted (e.g. a rounded
    linspace), anything else is refused rather than silently truncated."""
    try:
        k = np.asarray(values)
    except (OverflowError, ValueError, TypeError) as exc:
        raise ScheduleError(f"iterations: must be integers, got {values!r}.") from exc
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


def _count(name: str, value: Any) -> int:
    """A non-negative whole number (numpy integers and integral floats accepted)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer, float, np.floating)):
        raise ScheduleError(f"iterations: {name} must be a whole number, got {value!r}.")
    if not math.isfinite(value) or value != int(value) or value < 0:
        raise ScheduleError(f"iterations: {name} must be a whole number >= 0, got {value!r}.")
    return int(value)


#: How deeply a schedule's parameters may nest (phases: a list of dicts of numbers is 3).
MAX_DEPTH = 8


def _check_depth(policy: Any, params: Any) -> None:
    """Refuse parameters nested deeper than MAX_DEPTH, walked without recursion: a config
    of 10,000 nested lists (a crafted link, an upload) would otherwise hit Python's
    recursion limit in validation or in the repr of an error message."""
    todo = [(params, 1)]
    while todo:
        obj, depth = todo.pop()
        if isinstance(obj, Mapping):
            children = obj.values()
        elif isinstance(obj, (list, tuple)):
            children = obj
        else:
            continue
        if depth > MAX_DEPTH:
            raise ScheduleError(f"{policy if isinstance(policy, str) else 'policy'}: "
                                f"parameters nest more than {MAX_DEPTH} levels deep; a "
                                "schedule's parameters are numbers, or (phases) a list of "
                                "dicts of numbers.")
        todo.extend((c, depth + 1) for c in children)


def _chunked(closed_form: Any, k: np.ndarray) -> np.ndarray:
    """`closed_form(k)` evaluated CHUNK iterations at a time (it is elementwise)."""
    if k.size <= CHUNK:
        return np.asarray(closed_form(k), dtype=np.float64)
    out = np.empty(k.size, dtype=np.float64)
    for start in range(0, k.size, CHUNK):
        out[start:start + CHUNK] = closed_form(k[start:start + CHUNK])
    return out


class Schedule:
    """A validated policy + parameters. Pure: `lr(k)` depends on k only; no step counter."""

    __slots__ = ("_params", "_policy", "_ramp")
    spec: ClassVar[PolicySpec]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec" in cls.__dict__:
            register(cls)

    def __new__(cls, policy: str, params: Mapping[str, Any]):
        # Schedule(policy, params) builds the policy's own class, like make_schedule
        if cls is Schedule:
            cls = policy_class(policy)
        return super().__new__(cls)

    def __init__(self, policy: str, params: Mapping[str, Any]):
        _check_depth(policy, params)
        if policy != self.spec.name:
            raise ScheduleError(f"policy: {type(self).__name__} is {self.spec.name!r}, "
                                f"not {policy!r}.")
        own, ramp = validate_ramp(policy, dict(params))
        object.__setattr__(self, "_policy", policy)
        object.__setattr__(self, "_params", self._validate(own))
        if ramp:  # checked again now that the policy's own length is known
            validate_ramp(policy, ramp, self.planned_steps)
        object.__setattr__(self, "_ramp", ramp)
        self._probe()
        if ramp and ramp["ramp_shape"] == "exp" and not self._ramp_target() > 0:
            raise ScheduleError(f"{policy}: an exp ramp needs an LR above 0 at step ramp_steps "
                                f"({ramp['ramp_steps']}), where this schedule's LR is "
                                f"{self._ramp_target():g}; use a linear or cos ramp.")

    @classmethod
    def _validate(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        policy = cls.spec.name
        specs = {s.name: s for s in cls.spec.params}
        unknown = [name for name in params if name not in specs]
        if unknown:
            raise ScheduleError(f"{policy}: unknown parameter(s) {', '.join(map(str, unknown))}"
                                f"; valid parameters: {', '.join(specs)}.")
        missing = [s.name for s in specs.values() if s.required and s.name not in params]
        if missing:
            raise ScheduleError(f"{policy}: missing required parameter(s) {', '.join(missing)}.")
        out = {name: coerce(policy, spec, params.get(name, spec.default))
               for name, spec in specs.items()}
        cls.check(out)
        return out

    @classmethod
    def check(cls, p: dict[str, Any]) -> None:
        """The policy's own rules over its coerced parameters; raise ScheduleError."""

    def _probe(self) -> None:
        """Refuse parameters whose LR overflows or goes negative: sampled over the steps
        the schedule is designed for (its planned length, else the longest run or
        preview, MAX_ITERATIONS), so a value that validates alone but breaks the curve is
        named now, not mid-run or mid-drawing."""
        end = min(self.planned_steps or MAX_ITERATIONS, 2**53)
        k = np.unique(np.concatenate([
            np.arange(min(end, 512) + 1),
            np.geomspace(1, max(end, 1), 128).astype(np.int64),
            np.linspace(0, end, 129).astype(np.int64)]))
        self._checked(k, lambda: self._probe_lr(k), negative_before=end)

    def _probe_lr(self, k: np.ndarray) -> np.ndarray:
        return self._lr(k)

    def _checked(self, k: Any, compute: Any, negative_before: int = 0) -> np.ndarray:
        """`compute()` with its arithmetic failures, non-finite LRs (and negative ones
        before step `negative_before`) turned into a ScheduleError naming the step and the
        parameters. (torch's three-phase OneCycleLR dips below 0 one step past its end.)"""
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(compute(), dtype=np.float64)
        except (OverflowError, FloatingPointError, ZeroDivisionError, ValueError) as exc:
            raise ScheduleError(f"{self._policy}: these parameters cannot be computed "
                                f"({type(exc).__name__}: {exc}); {self._odd_params()}.") from None
        steps = np.asarray(k).reshape(-1) if np.ndim(k) else int(k) + np.arange(out.size)
        bad = ~np.isfinite(out).reshape(-1)
        if negative_before:
            bad |= (out.reshape(-1) < 0) & (steps < negative_before)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            step = int(steps[j])
            value = out.reshape(-1)[j]
            what = "negative" if np.isfinite(value) else "not finite"
            raise ScheduleError(f"{self._policy}: the LR is {what} ({value:.3g}) at step "
                                f"{step}; {self._odd_params()}.")
        return out

    def _odd_params(self) -> str:
        """The parameters most likely at fault: the largest in size, with their values."""
        nums = [(abs(v), n, v) for n, v in self._params.items()
                if isinstance(v, int | float) and not isinstance(v, bool)]
        top = sorted(nums, reverse=True)[:3]
        return "check " + ", ".join(f"{n}={v:.6g}" for _, n, v in top) if top else \
            "check the parameters"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Schedule is immutable; build a new one with make_schedule.")

    @property
    def policy(self) -> str:
        return self._policy

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter, defaults included, and the warm-up modifier's when it is on
        (a copy: schedules are immutable)."""
        return {**copy.deepcopy(self._params), **self._ramp}

    # -- values
    def lr(self, iterations_: Any) -> np.ndarray:
        """LR after k scheduler steps; float64 array shaped like `iterations_`."""
        k = iterations(iterations_, self.total_steps)
        flat = k.reshape(-1)
        out = self._checked(flat, lambda: _chunked(self._lr, flat))
        if self._ramp:
            out = apply_ramp(flat, out, self._ramp, self._ramp_target())
        return out.reshape(k.shape)

    def trace(self, n: Any, start: Any = 0) -> np.ndarray:
        """LR at iterations start .. start + n - 1: `lr(np.arange(start, start + n))` to
        within 1e-12 of the peak LR, computed from the range's structure (fills, one cycle
        tiled, cosines and exponentials as products of two short tables; see
        `schedules/trace.py`), so the designer previews 10^6 iterations in a millisecond."""
        out, start = self._range(n, start)
        if out.size:
            self._checked(start, lambda: self._trace(out, start) or out)
        if self._ramp:
            steps = self._ramp["ramp_steps"]
            seg, at = trace.part(out, start, 0, steps)
            if seg.size:
                target = self._ramp_target()
                shape_trace(seg, at, self._ramp["ramp_shape"], self._ramp["ramp_from"] * target,
                            target, 0.0, float(steps))
        return out

    def momentum_trace(self, n: Any, start: Any = 0) -> np.ndarray | None:
        """`momentum()` over iterations start .. start + n - 1, the way `trace` does the
        LR; None if momentum is not scheduled."""
        if not self.has_momentum:
            return None
        out, start = self._range(n, start)
        if out.size:
            self._momentum_trace(out, start)
        return out

    def _range(self, n: Any, start: Any) -> tuple[np.ndarray, int]:
        """(an empty array for n values, the first iteration), checked like `lr`'s; at
        most MAX_ITERATIONS values (80 MB), the longest run the engines accept: a larger
        request is a message, not a MemoryError (or a server swapping)."""
        n, start = _count("n", n), _count("start", start)
        if n > MAX_ITERATIONS:
            raise ScheduleError(f"iterations: a trace holds at most {MAX_ITERATIONS:,} values "
                                f"(the longest run), got n={n:,}; trace a part at a time "
                                "(trace(n, start)) or evaluate lr() at the iterations you "
                                "need.")
        end = self.total_steps
        if end is not None and n and start + n - 1 > end:
            raise ScheduleError(f"iterations: {start + n - 1} is past total_steps={end} "
                                "(torch's OneCycleLR raises there too).")
        return np.empty(n, dtype=np.float64), start

    def _momentum_trace(self, out: np.ndarray, first: int) -> None:
        trace.chunked(out, first, self._momentum)

    def _trace(self, out: np.ndarray, first: int) -> None:
        """Fill `out` with the LR at first, first + 1, ...; policies with structure to
        exploit override this, the rest evaluate their closed form chunk by chunk."""
        trace.chunked(out, first, self._lr)

    def momentum(self, iterations_: Any) -> np.ndarray | None:
        """Momentum (SGD momentum / Adam beta1) after k steps, or None if not scheduled."""
        if not self.has_momentum:
            return None
        k = iterations(iterations_, self.total_steps)
        return _chunked(self._momentum, k.reshape(-1)).reshape(k.shape)

    @property
    def has_momentum(self) -> bool:
        return False

    @property
    def has_ramp(self) -> bool:
        """Whether the warm-up modifier is on."""
        return bool(self._ramp)

    @property
    def cycle_length(self) -> int | None:
        """Iterations per cycle when constant; None for non-cyclic or growing cycles."""
        return None

    @property
    def total_steps(self) -> int | None:
        """Hard end of the schedule, where stepping further is an error (as in torch)."""
        return None

    def _lr(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _momentum(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- exchange
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe config; `from_dict(s.to_dict()) == s`."""
        return {"policy": self._policy, **self.params}

    def to_torch(self, optimizer: Any, **kwargs: Any) -> Any:
        """A `ScheduleLR` driving `optimizer` (kwargs: lr_scale, last_epoch)."""
        # deferred: the adapter loads torch (~2 s), which the designer and the previews never
        # need; torch_adapter imports only the registry, so this hides no circle
        from clr_core.schedules.torch_adapter import ScheduleLR

        return ScheduleLR(optimizer, self, **kwargs)

    def to_code(self) -> str:
        """Standalone PyTorch source defining `scheduler` for an `optimizer` in scope."""
        return codegen.schedule_to_code(self)

    def hf_export(self) -> tuple[str, float, dict[str, Any]] | None:
        """(name, optimizer lr, keyword arguments) of transformers' get_scheduler, where
        that scheduler is exact."""
        return None

    def timm_export(self) -> dict[str, Any] | None:
        """timm create_scheduler_v2 keyword arguments where timm is exact."""
        return None

    def conventions(self) -> list[str]:
        """Where the first and last LR land and what the step counts include, where the
        libraries disagree; the designer shows these."""
        return []

    @property
    def planned_steps(self) -> int | None:
        """The length the schedule was designed for (a hard end or a total_steps
        parameter); None for open-ended schedules."""
        return self.total_steps or self._params.get("total_steps")

    def _ramp_target(self) -> float:
        return float(self._lr(np.array([self._ramp["ramp_steps"]], dtype=np.int64))[0])

    def torch_code_body(self) -> str:
        """`code_body` with the warm-up modifier wrapped around it where it is on; a
        built-in torch scheduler can't take the ramp, so clr_core rebuilds the schedule."""
        body = self.code_body()
        if not self._ramp:
            return body
        return (ramp_code(body, self._ramp, self._ramp_target())
                or codegen.via_clr_core(self.to_dict()))

    def code_body(self) -> str:
        """The code after the header; policies with a standalone form override this.
        The default rebuilds the schedule with clr_core, exact by construction."""
        return codegen.via_clr_core(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self._policy, repr(sorted(self.params.items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"make_schedule({self._policy!r}, {args})"

    def __reduce__(self):
        return (from_dict, (self.to_dict(),))
