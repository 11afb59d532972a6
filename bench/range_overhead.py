"""What a range test costs on top of the training steps it runs.

Same model, same pre-built batches (a Python list, so data loading is not measured),
same exponential LR sequence, same number of steps (end_lr is kept low enough that
nobody stops early), timed in one process:

  (a) bare:  set lr, zero_grad, forward, backward, step, loss.item()
  (b) ours:  clr_core.engine.range_test.run_range_test (snapshot + restore + suggestions included)
  (c) torch-lr-finder: LRFinder(...) + range_test(...) + reset(), its default smoothing

Runs are interleaved (order rotated every repeat), each starts from the same weights,
and the median of the repeats is reported. torch-lr-finder is a bench-only dependency
(requirements-bench.txt); if matplotlib (which it imports for plotting only) is
missing, a stub stands in for it.

    python bench/range_overhead.py [--iters 300] [--reps 9] [--device cpu|cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clr_core.engine.range_test import lr_sequence, run_range_test


def import_torch_lr_finder():
    """torch_lr_finder imports matplotlib.pyplot (for .plot()) and tqdm at module level."""
    stubbed = []
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        mpl = types.ModuleType("matplotlib")
        mpl.pyplot = types.ModuleType("matplotlib.pyplot")
        sys.modules["matplotlib"], sys.modules["matplotlib.pyplot"] = mpl, mpl.pyplot
        stubbed.append("matplotlib")
    try:
        import tqdm.autonotebook  # noqa: F401
    except ImportError:
        mod = types.ModuleType("tqdm.autonotebook")
        mod.tqdm = lambda it, *a, **k: it
        sys.modules["tqdm"] = types.ModuleType("tqdm")
        sys.modules["tqdm.autonotebook"] = mod
        stubbed.append("tqdm")
    try:
        from torch_lr_finder import LRFinder
        from torch_lr_finder.lr_finder import TrainDataLoaderIter
    except ImportError as e:
        print(f"torch-lr-finder unavailable ({e}); pip install -r requirements-bench.txt")
        return None, None, stubbed
    return LRFinder, TrainDataLoaderIter, stubbed


def digits_batches(bs: int, device, image: bool):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    if image:
        x = x.view(-1, 1, 8, 8)
    y = torch.tensor(d.target)
    n = (len(x) // bs) * bs
    return [(x[i : i + bs].to(device), y[i : i + bs].to(device)) for i in range(0, n, bs)]


def mlp():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare(model, opt, batches, lrs, device):
    group = opt.param_groups[0]
    nb = len(batches)
    model.train()
    for i, lr in enumerate(lrs):
        group["lr"] = lr
        x, y = batches[i % nb]
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    return len(lrs)


def ours(model, opt, batches, lrs, device):
    r = run_range_test(model, opt, F.cross_entropy, batches, start_lr=lrs[0], end_lr=lrs[-1],
                       num_iter=len(lrs), mode="exp")  # fmt: skip
    return r.lrs.size


def make_tlf(LRFinder, TrainIter):
    def tlf(model, opt, batches, lrs, device):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            finder = LRFinder(model, opt, F.cross_entropy, device=device)
            finder.range_test(TrainIter(batches), start_lr=lrs[0], end_lr=lrs[-1],
                              num_iter=len(lrs), step_mode="exp")  # fmt: skip
            finder.reset()
        return len(finder.history["lr"])

    return tlf


def bench_model(name, build, batches, lrs, device, reps, runners):
    torch.manual_seed(0)
    proto = build().to(device)
    init = {k: v.clone() for k, v in proto.state_dict().items()}

    def fresh():
        m = build().to(device)
        m.load_state_dict(init)
        return m, torch.optim.SGD(m.parameters(), lr=lrs[0], momentum=0.9)

    times = {k: [] for k in runners}
    for rep in range(reps + 1):  # the first round warms up and is not kept
        order = list(runners)
        k = rep % len(order)
        for key in order[k:] + order[:k]:
            m, o = fresh()
            sync(device)
            t = time.perf_counter()
            steps = runners[key](m, o, batches, lrs, device)
            sync(device)
            dt = time.perf_counter() - t
            if steps != len(lrs):
                raise SystemExit(f"{key} ran {steps} steps, not {len(lrs)}: lower end_lr")
            if rep:
                times[key].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{name}: {len(lrs)} steps, batch {batches[0][0].shape[0]}, device {device}, "
          f"{reps} interleaved repeats")  # fmt: skip
    print(f"  {'':16s} {'median':>9s} {'min':>9s} {'us/step':>8s}")
    for k, v in med.items():
        print(f"  {k:16s} {v * 1e3:6.2f} ms {min(times[k]) * 1e3:6.2f} ms {v / len(lrs) * 1e6:8.1f}")
    # Ratios three ways: of the medians (the headline), of the minima, and the median of
    # the per-repeat ratios (robust to load drifting between repeats).
    for k in med:
        if k == "bare":
            continue
        paired = statistics.median(a / b for a, b in zip(times[k], times["bare"], strict=True))
        print(f"  {k + '/bare':22s} {med[k] / med['bare']:.3f}   "
              f"(min/min {min(times[k]) / min(times['bare']):.3f}, paired median {paired:.3f})")  # fmt: skip
    return med


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--start-lr", type=float, default=1e-5)
    ap.add_argument("--end-lr", type=float, default=0.05)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: leave as is)")
    ap.add_argument("--models", default="mlp,cnn")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    lrs = lr_sequence(args.start_lr, args.end_lr, args.iters, "exp").tolist()
    LRFinder, TrainIter, stubbed = import_torch_lr_finder()
    runners = {"bare": bare, "ours": ours}
    if LRFinder is not None:
        runners["torch-lr-finder"] = make_tlf(LRFinder, TrainIter)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, numpy {np.__version__}"
          + (f"; stubbed for torch-lr-finder: {', '.join(stubbed)}" if stubbed else ""))  # fmt: skip
    builds = {"mlp": (mlp, False), "cnn": (cnn, True)}
    for name in args.models.split(","):
        build, image = builds[name]
        batches = digits_batches(args.batch, device, image)
        bench_model(f"digits {name}", build, batches, lrs, device, args.reps, runners)


if __name__ == "__main__":
    main()
