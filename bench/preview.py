"""Preview speed: Schedule.lr() over 10^6 iterations vs stepping the equivalent scheduler.

The designer previews up to 10^7 iterations on every widget change, so the closed form
must cost nanoseconds per iteration where a scheduler costs microseconds per step. For
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


def _schedule(policy: str):
    """The policy's defaults, stretched to N iterations where it has a length."""
    params = {p.name: p.default for p in POLICIES[policy].params if p.default is not None}
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


def main() -> None:
    k = np.arange(N)
    print(f"Preview of {N:,} iterations: Schedule.lr() (closed form) vs stepping the scheduler "
          "the export offers.")
    print(f"Schedulers are stepped {TORCH_STEPS:,} times and scaled x{N // TORCH_STEPS} to "
          f"{N:,} steps; ours is the best of {REPEATS} runs over all {N:,}.")
    print(f"torch {torch.__version__}, numpy {np.__version__}, "
          f"{torch.get_num_threads()} torch threads\n")
    print(f"{'policy':<17}{'stepped':<42}{'ours (ms)':>10}{'theirs (ms)':>13}{'ratio':>9}")
    ratios = {}
    for policy in POLICIES:
        schedule = _schedule(policy)
        ours = _best_of(lambda s=schedule: s.lr(k))
        label, per_step = _stepped(schedule)
        theirs = per_step * N
        ratios[policy] = theirs / ours
        print(f"{policy:<17}{label:<42}{ours * 1e3:>10.1f}{theirs * 1e3:>13.0f}"
              f"{theirs / ours:>8.0f}x")
    below = [p for p, r in ratios.items() if r < TARGET]
    print(f"\nminimum ratio {min(ratios.values()):.0f}x ({min(ratios, key=ratios.get)}); "
          f"target >= {TARGET}x; below target: {', '.join(below) or 'none'}")


if __name__ == "__main__":
    main()
