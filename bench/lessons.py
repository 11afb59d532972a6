"""How fast the Learn page answers.

Closed-form lessons redraw on every control change; the target is < 100 ms of server time per
change, measured here as what the server does for one: the lesson's view (numbers and plotly
figures) plus the figures' JSON, for the defaults and for every control moved to each end of
its range (median and worst). Training lessons run on digits; the target is <= 3 s at their
defaults on this 2-core CPU, measured cold (nothing remembered) and warm (only the changed
variant retrained: a second LR for lesson 1).

    python bench/lessons.py [--reps 5] [--skip-training]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from clr_core.lessons import LESSONS, digits


def _variants(lesson):
    yield lesson.defaults()
    for c in lesson.controls:
        ends = c.options if c.kind in ("steps", "choice") else (c.lo, c.hi)
        for v in (ends[0], ends[-1]):
            values = {**lesson.defaults(), c.key: v}
            if values.get("base_lr", 0) < values.get("max_lr", 1):
                yield values


def _serve(lesson, values) -> float:
    t0 = time.perf_counter()
    view = lesson.view(values)
    for _, fig in view.figures:
        fig.to_json()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip-training", action="store_true")
    args = ap.parse_args()
    print("closed-form lessons: server time per change (view + figure JSON), ms")
    for lesson in (x for x in LESSONS if x.instant):
        _serve(lesson, lesson.defaults())  # warm-up
        times = [min(_serve(lesson, v) for _ in range(args.reps)) for v in _variants(lesson)]
        print(f"  {lesson.key:20s} median {statistics.median(times) * 1000:6.1f}   "
              f"worst {max(times) * 1000:6.1f}   ({len(times)} settings; target < 100)")
    if args.skip_training:
        return
    torch.set_num_threads(2)
    print("training lessons at their defaults, s (target <= 3)")
    for lesson in (x for x in LESSONS if not x.instant):
        digits._train.cache_clear()
        t0 = time.perf_counter()
        lesson.view(lesson.defaults())
        cold = time.perf_counter() - t0
        line = f"  {lesson.key:20s} cold {cold:5.2f}"
        if "lr" in lesson.defaults():
            t0 = time.perf_counter()
            lesson.view({**lesson.defaults(), "lr": 0.2})
            line += f"   another LR, warm {time.perf_counter() - t0:5.2f}"
        print(line)


if __name__ == "__main__":
    main()
