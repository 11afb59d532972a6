"""Preview speed: Schedule.lr() over 10^6 iterations vs stepping torch's scheduler.

The designer previews up to 10^7 iterations on every widget change, so the closed form
must cost nanoseconds per iteration where a torch scheduler costs microseconds per step.
Torch is stepped TORCH_STEPS times and scaled linearly to 10^6 (stepping cost per step is
constant; the printout says so). Run: .venv/bin/python bench/preview.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from clr_core.schedules import make_schedule

N = 1_000_000
TORCH_STEPS = 100_000
REPEATS = 5


def _best_of(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _torch_time(make_scheduler) -> float:
    """Seconds to step a fresh scheduler TORCH_STEPS times, reading the lr like a preview."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    sched = make_scheduler(opt)
    out = np.empty(TORCH_STEPS)
    group = opt.param_groups[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
        t0 = time.perf_counter()
        for i in range(TORCH_STEPS):
            out[i] = group["lr"]
            sched.step()
        return time.perf_counter() - t0


def main() -> None:
    k = np.arange(N)
    # lr only on both sides: momentum cycling is off in torch too, so the work is equivalent
    cases = [
        ("triangular (CyclicLR)",
         make_schedule("triangular", base_lr=0.001, max_lr=0.006, step_size_up=2000),
         lambda o: torch.optim.lr_scheduler.CyclicLR(o, 0.001, 0.006, step_size_up=2000,
                                                     cycle_momentum=False)),
        ("one_cycle (OneCycleLR)",
         make_schedule("one_cycle", max_lr=0.1, total_steps=N, cycle_momentum=False),
         lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=N,
                                                       cycle_momentum=False)),
    ]
    print(f"Preview of {N:,} iterations: Schedule.lr() (closed form) vs stepping torch.")
    print(f"torch is stepped {TORCH_STEPS:,} times and scaled x{N // TORCH_STEPS} to {N:,} "
          f"steps; ours is the best of {REPEATS} runs over all {N:,}.")
    print(f"torch {torch.__version__}, numpy {np.__version__}, "
          f"{torch.get_num_threads()} torch threads\n")
    print(f"{'policy':<24}{'ours (ms)':>12}{'torch (ms)':>14}{'ratio':>10}")
    ratios = []
    for label, schedule, make_scheduler in cases:
        ours = _best_of(lambda s=schedule: s.lr(k))
        theirs = _torch_time(make_scheduler) * (N / TORCH_STEPS)
        ratios.append(theirs / ours)
        print(f"{label:<24}{ours * 1e3:>12.1f}{theirs * 1e3:>14.0f}{theirs / ours:>9.0f}x")
    print(f"\nminimum ratio {min(ratios):.0f}x (target >= 100x)")


if __name__ == "__main__":
    main()
