"""Guided lessons from the source documents, each with a demo on digits that runs in
seconds on a CPU. The page only renders what these functions return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from clr_core import experiments
from clr_core.schedules import make_schedule

#: Every demo trains the embedded default: an MLP on scikit-learn's digits, on the CPU.
DEMO_BASE = {"dataset": "digits", "model": "mlp", "optimizer": "sgd", "batch_size": 64,
             "momentum": 0.9, "device": "cpu", "seed": 0}


def train_variants(runs: list[dict], num_iter: int, eval_every: int = 25) -> dict:
    """Train each variant (a label, a schedule, maybe an optimizer) on the demo setup."""
    config = {**DEMO_BASE, "num_iter": num_iter, "eval_every": eval_every,
              "schedule": runs[0]["schedule"], "runs": runs}
    return experiments.run_train_job(config, experiments.no_events, experiments.never_stop)


def demo_lr_matters(num_iter: int = 200) -> dict:
    """Too low barely learns, too high diverges or thrashes, a good LR learns fast."""
    return train_variants([
        {"label": "too low (0.0005)", "schedule": {"policy": "fixed", "lr": 5e-4}},
        {"label": "good (0.05)", "schedule": {"policy": "fixed", "lr": 0.05}},
        {"label": "too high (3.0)", "schedule": {"policy": "fixed", "lr": 3.0}},
    ], num_iter)


def demo_range_test(num_iter: int = 100) -> dict:
    """An exponential range test with every suggestion on the curve."""
    config = {**DEMO_BASE, "start_lr": 1e-5, "end_lr": 10.0, "num_iter": num_iter, "mode": "exp"}
    return experiments.run_range_test_job(config, experiments.no_events, experiments.never_stop)


def demo_policies(num_iterations: int = 6000) -> dict[str, np.ndarray]:
    """The CLR policies and windows side by side (closed form, instant)."""
    common = {"base_lr": 0.001, "max_lr": 0.006, "step_size_up": 1000}
    k = np.arange(num_iterations)
    out = {}
    for policy, extra in (("triangular", {}), ("triangular2", {}), ("exp_range", {"gamma": 0.9997}),
                          ("welch", {}), ("hann", {})):
        out[policy] = make_schedule(policy, **common, **extra).lr(k)
    return out


def demo_clr_vs_baselines(num_iter: int = 400) -> dict:
    """Smith 2015's comparison on digits: CLR against fixed, decay and Adam."""
    step = num_iter // 4
    return train_variants([
        {"label": "CLR triangular2", "schedule": {"policy": "triangular2", "base_lr": 0.01,
                                                  "max_lr": 0.1, "step_size_up": step}},
        {"label": "fixed 0.01", "schedule": {"policy": "fixed", "lr": 0.01}},
        {"label": "decay 0.1→0.01", "schedule": {"policy": "decay", "base_lr": 0.01, "max_lr": 0.1,
                                                 "step_size": num_iter // 2}},
        {"label": "Adam 0.001", "schedule": {"policy": "fixed", "lr": 0.001}, "optimizer": "adam"},
    ], num_iter)


def demo_one_cycle(num_iter: int = 300) -> dict:
    """1cycle with cyclical momentum and annihilation against a fixed LR."""
    return train_variants([
        {"label": "1cycle (Smith: linear, 3 phases)",
         "schedule": {"policy": "one_cycle", "max_lr": 0.3, "total_steps": num_iter,
                      "three_phase": True, "anneal_strategy": "linear", "div_factor": 10.0,
                      "final_div_factor": 100.0}},
        {"label": "fixed 0.03", "schedule": {"policy": "fixed", "lr": 0.03}},
    ], num_iter)


def demo_sgdr(num_iter: int = 300) -> dict:
    """Cosine annealing with warm restarts (SGDR) against a fixed LR."""
    return train_variants([
        {"label": "SGDR T_0=50, T_mult=2",
         "schedule": {"policy": "cosine_restarts", "max_lr": 0.1, "base_lr": 0.001, "T_0": 50,
                      "T_mult": 2}},
        {"label": "fixed 0.03", "schedule": {"policy": "fixed", "lr": 0.03}},
    ], num_iter)


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    body: str
    rules: tuple[str, ...]
    demo: Callable[[], object]
    demo_kind: str  # "train", "range_test" or "schedules": how the page draws the demo


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "lr_matters", "1. Why the learning rate matters",
        "The learning rate is the most important hyper-parameter. Too low and the network "
        "barely moves; too high and the loss thrashes or diverges; in between it learns fast. "
        "The demo trains the same network on digits three times, changing only the learning rate.",
        ("The optimum is usually within a factor of two of the largest LR that still converges "
         "(Smith 2015).",),
        demo_lr_matters, "train"),
    Lesson(
        "range_test", "2. The LR range test and how to read it",
        "Raise the learning rate every batch, from tiny to huge, and plot the loss. Where the loss "
        "starts to fall, the LR is big enough to learn; where it bottoms out and shoots up, it is "
        "too big. Smith (2015) used a linear sweep and accuracy; fastai uses an exponential sweep "
        "and a smoothed loss. Each finder suggests a different point — they are all on the chart.",
        ("max_lr: where the loss still falls steeply, about a factor of 10 left of the minimum "
         "(fastai; Dehaene 2019).",
         "base_lr = max_lr / 3 or / 4 for CLR (Smith 2015); / 10 for 1cycle (Smith 2018); "
         "/ 6 in Dehaene's \"Adaptive - and Cyclical Learning Rates using PyTorch\" (2019).",
         "A suggestion moves with the seed: repeat the test (Sweeps → seed) before trusting it."),
        demo_range_test, "range_test"),
    Lesson(
        "policies", "3. triangular, triangular2, exp_range and the three windows",
        "CLR lets the LR rise and fall between base_lr and max_lr. triangular keeps the amplitude; "
        "triangular2 halves it each cycle; exp_range shrinks it by gamma every iteration. Smith "
        "found the triangular (Bartlett), parabolic (Welch) and sinusoidal (Hann) windows "
        "equivalent, and kept the triangle for its simplicity.",
        ("Step size (half a cycle) = 2–10 × the iterations in an epoch (Smith 2015).",
         "Stop training at the end of a cycle, when the LR is back at base_lr."),
        demo_policies, "schedules"),
    Lesson(
        "clr_vs_baselines", "4. CLR versus fixed, decay and an adaptive optimizer",
        "Smith's CIFAR-10 table: triangular2 reached the fixed-LR accuracy (81.4 %) in 25,000 "
        "iterations instead of 70,000; a plain decay did worse (78.5 %), evidence that both the "
        "increase and the decrease matter. The demo reproduces the comparison on digits.",
        ("CLR's benefit shrinks with adaptive optimizers such as Adam (Smith 2015).",
         "Both rising and falling LR are needed: decay alone is not CLR."),
        demo_clr_vs_baselines, "train"),
    Lesson(
        "one_cycle", "5. 1cycle with cyclical momentum and annihilation",
        "Smith (2018): one cycle, min = max / 10, equal steps up and down, then annihilate the LR "
        "to about max / 1000 in the last iterations. Momentum moves the other way, 0.95 → 0.85 → "
        "0.95. Large LRs regularise, so reduce other regularisation (weight decay, dropout).",
        ("Momentum: test 0.9–0.99; cyclical 0.95 → 0.85 beats a constant 0.9 (Smith 2018).",
         "Weight decay: run range tests at 1e-3, 1e-4, 1e-5, 0 and keep the largest that still "
         "allows a high max_lr (Sweeps page).",
         "Batch size: the largest that fits in memory; it allows larger LRs."),
        demo_one_cycle, "train"),
    Lesson(
        "sgdr", "6. SGDR: cosine annealing with warm restarts",
        "Loshchilov & Hutter's SGDR anneals the LR along a cosine and restarts it, each cycle "
        "T_mult times longer. Each restart can jump out of a sharp minimum; snapshots at the "
        "cycle ends make a free ensemble (Huang et al. 2017, \"Snapshot Ensembles\").",
        ("Take snapshots at the end of each cycle, where the LR is lowest.",),
        demo_sgdr, "train"),
)
