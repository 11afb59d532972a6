"""What measuring the sharpness (λmax, for the 2/λmax curve) adds to a range test.

The range-test page's default test (an MLP on digits, SGD with momentum 0.9, 100 iterations
from 1e-5 to 10) is run through the job runner with ``sharpness_every`` 0 and k, interleaved,
and the medians compared. The target: the sharpness costs less than the test itself at the
page's default k (ratio < 1). Also printed: Hessian-vector products per estimate, which the
warm start keeps low.

    python bench/sharpness.py [--reps 5] [--every 10] [--iters 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from clr_core.engine.sharpness import SharpnessTracker
from clr_core.jobs.runners import never_stop, no_events, run_range_test_job

PAGE_DEFAULT_EVERY = 10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--every", type=int, default=PAGE_DEFAULT_EVERY)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    base = {"dataset": "digits", "model": "mlp", "optimizer": "sgd", "momentum": 0.9,
            "batch_size": 64, "device": "cpu", "seed": 0, "start_lr": 1e-5, "end_lr": 10.0,
            "num_iter": args.iters, "mode": "exp"}
    products = []
    original = SharpnessTracker.measure

    def counting(self, *a, **k):
        before = self.products
        out = original(self, *a, **k)
        products.append(self.products - before)
        return out

    SharpnessTracker.measure = counting
    times: dict[int, list[float]] = {0: [], args.every: []}
    rows = 0
    run_range_test_job(base, no_events, never_stop)  # warm-up: imports, data
    for rep in range(args.reps):
        for every in ((0, args.every) if rep % 2 == 0 else (args.every, 0)):
            t0 = time.perf_counter()
            out = run_range_test_job({**base, "sharpness_every": every}, no_events, never_stop)
            times[every].append(time.perf_counter() - t0)
            if every:
                rows = len(out["range_test"]["sharpness"])
    plain, with_sharpness = statistics.median(times[0]), statistics.median(times[args.every])
    extra = with_sharpness - plain
    print(f"range test, {args.iters} iterations, median of {args.reps}")
    print(f"  without sharpness:            {plain * 1000:8.1f} ms")
    print(f"  sharpness every {args.every:<3d} ({rows} rows): {with_sharpness * 1000:8.1f} ms")
    print(f"  sharpness cost / test's time: {extra / plain:8.2f}  (target < 1)")
    print(f"  Hessian-vector products per estimate: median {statistics.median(products):.0f}, "
          f"first {products[0]}, max {max(products)}")


if __name__ == "__main__":
    main()
