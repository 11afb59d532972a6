"""Preview speed: Schedule.trace() over 10^6 iterations vs stepping the equivalent scheduler.

The designer previews up to 10^7 iterations on every widget change, so a preview must
cost nanoseconds per iteration where a scheduler costs microseconds per step. `trace`
is the designer's preview path (contiguous ranges; `clr_core/schedules/trace.py`); each
row also prints how far it strays from the closed form `lr()`. For
every policy the scheduler stepped is the one its exports offer: transformers'
get_scheduler where exact, else timm's create_scheduler_v2, else the PyTorch export (torch's
CyclicLR / OneCycleLR / CosineAnnealingWarmRestarts, or the exact LambdaLR). It is stepped
TORCH_STEPS times and scaled linearly to 10^6 (the cost per step is constant; the printout
says so). Run: .venv/bin/python bench/preview.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from clr_core.present.plots import schedule_figures
from clr_core.schedules import POLICIES, make_schedule
from clr_core.schedules.exports import hf_code, timm_code

N = 1_000_000
TORCH_STEPS = 20_000
REPEATS = 5
TARGET = 1000


def _best_of(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _defaults(policy: str) -> dict:
    return {p.name: p.default for p in POLICIES[policy].params if p.default is not None}


def _schedule(policy: str):
    """The policy's defaults, stretched to N iterations where it has a length."""
    params = _defaults(policy)
    if "total_steps" in params:
        params["total_steps"] = N
    if policy == "one_cycle":
        params["cycle_momentum"] = False  # lr only on both sides: the same work
    return make_schedule(policy, **params)


def _stepped(schedule) -> tuple[str, float]:
    """(which scheduler, seconds per step) stepping the schedule's export TORCH_STEPS times
    and reading the lr like a preview would."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    code, kind = hf_code(schedule), "transformers"
    if code is None:
        code, kind = timm_code(schedule), "timm"
    if code is None:
        code, kind = schedule.to_code(), "torch"
    ns = {"optimizer": opt}
    out = np.empty(TORCH_STEPS)
    group = opt.param_groups[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
        exec(compile(code, "<export>", "exec"), ns)
        sched = ns["scheduler"]
        name = type(sched).__name__
        step = ((lambda i: sched.step_update(num_updates=i + 1)) if kind == "timm"
                else (lambda i: sched.step()))
        t0 = time.perf_counter()
        for i in range(TORCH_STEPS):
            out[i] = group["lr"]
            step(i)
        return f"{kind} {name}", (time.perf_counter() - t0) / TORCH_STEPS


def _deviation(schedule) -> float:
    """Largest |trace - lr| over the first TORCH_STEPS iterations and a window at the end,
    relative to the peak LR (the test holds every policy to 1e-12)."""
    peak = float(np.max(np.abs(schedule.trace(N))))
    worst = 0.0
    for start in (0, N - TORCH_STEPS):
        exact = schedule.lr(np.arange(start, start + TORCH_STEPS))
        worst = max(worst, float(np.max(np.abs(schedule.trace(TORCH_STEPS, start) - exact))))
    return worst / peak


# Configurations beyond the defaults: shown, not held to the target (k-decay takes a power
# and a cosine of every step, where the fast paths need an arithmetic progression of angles).
VARIANTS = {
    "exp_range, step_size_up 20": ("exp_range", {"step_size_up": 20}),
    "triangular2, step_size_up 20": ("triangular2", {"step_size_up": 20}),
    "cosine_restarts, T_mult 2": ("cosine_restarts", {"T_0": 1000, "T_mult": 2}),
    "polynomial, power 2": ("polynomial", {"total_steps": N, "power": 2.0}),
    "polynomial, power 0.7": ("polynomial", {"total_steps": N, "power": 0.7}),
    "timm_cosine, cycle_mul 2": ("timm_cosine", {"t_initial": 10_000, "cycle_mul": 2.0,
                                                 "cycle_limit": 10}),
    "timm_cosine, k_decay 2": ("timm_cosine", {"t_initial": N, "k_decay": 2.0}),
    "one_cycle + exp ramp": ("one_cycle", {"total_steps": N, "cycle_momentum": False,
                                           "ramp_steps": 50_000, "ramp_shape": "exp",
                                           "ramp_from": 0.01}),
}


def _row(name: str, schedule) -> float:
    ours = _best_of(lambda: schedule.trace(N))
    label, per_step = _stepped(schedule)
    theirs = per_step * N
    print(f"{name:<30}{label:<40}{ours * 1e3:>9.2f}{theirs * 1e3:>12.0f}"
          f"{theirs / ours:>8.0f}x{_deviation(schedule):>11.1e}")
    return theirs / ours


def main() -> None:
    print(f"Preview of {N:,} iterations: Schedule.trace() (the designer's preview) vs stepping "
          "the scheduler the export offers.")
    print(f"Schedulers are stepped {TORCH_STEPS:,} times and scaled x{N // TORCH_STEPS} to "
          f"{N:,} steps; ours is the best of {REPEATS} runs over all {N:,}. 'dev' is the largest "
          "|trace - lr| / peak LR.")
    print(f"torch {torch.__version__}, numpy {np.__version__}, "
          f"{torch.get_num_threads()} torch threads\n")
    header = f"{'policy':<30}{'stepped':<40}{'ours (ms)':>9}{'theirs (ms)':>12}{'ratio':>9}{'dev':>11}"
    print(header)
    ratios = {policy: _row(policy, _schedule(policy)) for policy in POLICIES}
    below = [p for p, r in ratios.items() if r < TARGET]
    print(f"\nminimum ratio {min(ratios.values()):.0f}x ({min(ratios, key=ratios.get)}); "
          f"target >= {TARGET}x; below target: {', '.join(below) or 'none'}")
    print("\nOther configurations:\n" + header)
    for name, (policy, params) in VARIANTS.items():
        _row(name, make_schedule(policy, **{**_defaults(policy), **params}))
    print("\nThe designer's whole preview on the server (LR and momentum traces, min/max "
          "decimation, plotly figures), 1cycle:")
    for n in (N, 10 * N):
        sched = make_schedule("one_cycle", max_lr=0.1, total_steps=n)
        seconds = _best_of(lambda s=sched, n=n: schedule_figures([("1cycle", s)], n), 3)
        print(f"  {n:>12,} iterations: {seconds * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
