"""The lessons, in teaching order: text, claim, controls and the view each one draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from clr_core.lessons import bowl, schedule_free, training, wsd
from clr_core.lessons.model import Claim, Control, Lesson, LessonView
from clr_core.present.plots import Curve, line_figure
from clr_core.schedules import make_schedule
from clr_core.schedules.wsd import SHAPES
from clr_core.suggest.recommend import band_text

__all__ = ["CLAIM_CHECKS", "LESSONS", "lesson_by_key"]

_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)
_SEEDS = Control("seeds", "Seeds", "slider", 2, lo=1, hi=5, step=1,
                 help="Each variant is trained once per seed; the band shows their spread.")
_ITERS = Control("num_iter", "Updates (budget)", "steps", 200, options=(50, 100, 150, 200, 300, 400),
                 help="Every variant gets the same number of updates.")


def _median(xs) -> str:
    """A speed-up per seed (0: that seed never reached the accuracy) as a tile shows it: the
    median of the seeds that reached it, saying how many did, never a median over "never"."""
    xs = np.asarray(xs, dtype=float)
    each = ", ".join("never" if x == 0 else f"{x:.2f}" for x in xs)
    reached = xs[xs > 0]
    if not len(reached):
        return f"never (seeds: {each})"
    if len(reached) == len(xs):
        return f"{np.median(reached):.2f}× (seeds: {each})"
    return f"{np.median(reached):.2f}× in {len(reached)} of {len(xs)} seeds (seeds: {each})"


def _pct(acc) -> str:
    """A median accuracy as a metric tile shows it, short enough never to be cut (the
    range over seeds is in the table beside it)."""
    return f"{np.median(acc):.1f} %"


def _comparison_view(c: training.Comparison, *, speedup: bool,
                     against: str = "the best fixed learning rate of the grid",
                     tile: str = "best fixed LR of the grid") -> LessonView:
    """``against`` / ``tile``: what the baselines are (the windows lesson compares windows,
    not fixed LRs), in the summary and on the tile."""
    best = c.best_baseline
    acc = c.finals(c.candidate) * 100
    base = c.finals(best) * 100
    metrics = [(f"{c.candidate} (median)", _pct(acc)),
               (f"{tile}: {best}", _pct(base))]
    if speedup:
        metrics.append(("speed-up to the best baseline's accuracy", _median(c.speedups())))
    diff = float(np.median(acc) - np.median(base))
    summary = (f"**{c.candidate}** reaches {np.median(acc):.1f} % against {np.median(base):.1f} % "
               f"for {against} ({best}): "
               + ("about the same" if abs(diff) < 1 else f"{abs(diff):.1f} points "
                  + ("better" if diff > 0 else "worse")) + ".")
    return LessonView(figures=[("accuracy", training.accuracy_figure(c.runs, highlight=c.candidate))],
                      metrics=metrics, table=training.summary_table(c), summary=summary)


def _seeds(values) -> tuple[int, ...]:
    return tuple(range(int(values["seeds"])))


# ----------------------------------------------------------------------------- views


def _view_lr_matters(values, on_run: Callable | None = None) -> LessonView:
    """Every learning rate's accuracy side by side (too low, good, too high, yours): no
    "best of the grid" here, the grid is the lesson."""
    c = training.lr_matters(values["lr"], seeds=_seeds(values), on_run=on_run)
    medians = {label: float(np.median(c.finals(label) * 100)) for label in c.runs}
    best = max(medians, key=medians.get)
    yours = next(label for label in c.runs if label.startswith("yours"))
    summary = (f"Your learning rate reaches **{medians[yours]:.1f} %**; the best of these four "
               f"is **{best}** with {medians[best]:.1f} % (median over seeds).")
    return LessonView(figures=[("accuracy", training.accuracy_figure(c.runs, highlight=yours))],
                      metrics=[(label, f"{m:.1f} %") for label, m in medians.items()],
                      table=training.summary_table(c), summary=summary)


def _view_stability(values, on_run: Callable | None = None) -> LessonView:
    path, rates, metrics = bowl.stability_figures(values["lr"], values["momentum"],
                                                  values["condition"])
    m = dict(metrics)
    limit = m["largest stable LR, 2(1+β)/λmax"]
    verdict = "converges" if "converges" in m["your LR"] else "diverges"
    summary = (f"With learning rate {values['lr']:g} the run **{verdict}**: the largest learning "
               f"rate that still settles in this bowl is {limit}; past it every step overshoots "
               "more than it corrects.")
    return LessonView(figures=[("path", path), ("rate", rates)], metrics=metrics, summary=summary)


def _view_range_test(values, on_run: Callable | None = None) -> LessonView:
    fig, table, result = training.range_test_reading(num_iter=int(values["num_iter"]),
                                                     seed=int(values["seed"]))
    notes = []
    scored = table.dropna(subset=["worst regret (points)"])
    if not len(scored):
        notes.append("The suggestion benchmark has not been run for this version, so only the "
                     "picks are shown; the accuracy each pick cost appears here once it has.")
    else:  # said from the table itself, so the text cannot contradict it
        best = scored.loc[scored["worst regret (points)"].idxmin()]
        worst = scored.loc[scored["worst regret (points)"].idxmax()]
        notes.append(f"In the suggestion benchmark, {best['rule']} lost the least accuracy "
                     f"against the best LR of a grid (at most {best['worst regret (points)']:.1f} "
                     f"points) and {worst['rule']} the most ({worst['worst regret (points)']:.1f}).")
    metrics = [("iterations", str(len(result.lrs))), ("stopped", result.stop_reason)]
    rec = result.suggestions.get("recommended")
    summary = ("No recommendation: the curve is too short or flat to read." if rec is None else
               f"Train with max_lr **{rec.max_lr:.3g}**: between {rec.low:.3g} and "
               f"{rec.high:.3g} the loss is still falling fast. (The Range test page gives the "
               "same number on its defaults: this is the same test.)")
    if rec is not None:  # the pick the benchmark trusts, with the band it supports
        metrics[:0] = [("recommended max_lr", f"{rec.max_lr:.3g}"),
                       ("max_lr band", band_text(rec.low, rec.high))]
    return LessonView(figures=[("range test", fig)], table=table, notes=notes, metrics=metrics,
                      summary=summary)


def _view_policies(values, on_run: Callable | None = None) -> LessonView:
    common = {"base_lr": values["base_lr"], "max_lr": values["max_lr"],
              "step_size_up": int(values["step_size"])}
    k = np.arange(int(values["step_size"]) * 6)
    curves = []
    for policy in ("triangular", "triangular2", "exp_range", "welch", "hann"):
        extra = {"gamma": values["gamma"]} if policy == "exp_range" else {}
        curves.append(Curve(policy, k, make_schedule(policy, **common, **extra).lr(k)))
    fig = line_figure(curves, x_title="iteration", y_title="learning rate",
                      uirevision="learn-policies")
    return LessonView(figures=[("policies", fig)])


def _check_windows(values, on_run: Callable | None = None) -> LessonView:
    """Smith's claim checked on the runs the table shows: the windows are equivalent when
    their medians differ by less than the spread over seeds of one window."""
    c = training.windows(values["base_lr"], values["max_lr"],
                         seeds=(0, 1, 2), on_run=on_run)
    view = _comparison_view(c, speedup=False, against="the best of the other windows",
                            tile="best other window")
    return replace(view, summary=view.summary + " " + windows_verdict(c))


def windows_verdict(c: training.Comparison) -> str:
    """Whether the windows' medians differ by less than the seeds move one window, read off
    the runs themselves (no sentence a seed can falsify)."""
    labels = (c.candidate, *c.baselines)
    medians = {k: float(np.median(c.finals(k))) * 100 for k in labels}
    gap = max(medians.values()) - min(medians.values())
    spread = max(float(np.ptp(c.finals(k))) * 100 for k in labels)
    hi, lo = max(medians, key=medians.get), min(medians, key=medians.get)
    if gap < spread:
        return (f"The windows' medians differ by {gap:.1f} points ({hi} to {lo}), less than the "
                f"{spread:.1f} points one window moves between seeds: equivalent, as far as "
                "these seeds can tell.")
    return (f"The windows' medians differ by {gap:.1f} points ({hi} to {lo}), more than the "
            f"{spread:.1f} points one window moves between seeds: not equivalent on these runs.")


def _view_clr(values, on_run: Callable | None = None) -> LessonView:
    c = training.clr_vs_fixed(values["base_lr"], values["max_lr"],
                              num_iter=int(values["num_iter"]), seeds=_seeds(values),
                              on_run=on_run)
    return _comparison_view(c, speedup=True)


def _view_one_cycle(values, on_run: Callable | None = None) -> LessonView:
    c = training.one_cycle_vs_fixed(values["max_lr"], num_iter=int(values["num_iter"]),
                                    seeds=_seeds(values), on_run=on_run)
    return _comparison_view(c, speedup=True)


def _view_sgdr(values, on_run: Callable | None = None) -> LessonView:
    t0, mult = int(values["T_0"]), int(values["T_mult"])
    n = int(values["num_iter"])
    k = np.arange(n)
    sched = make_schedule("cosine_restarts", max_lr=values["max_lr"], base_lr=values["base_lr"],
                          T_0=t0, T_mult=mult)
    lr = sched.lr(k)
    # a cycle ends where the next step restarts; the budget's last step counts only when a
    # restart follows it, so the tile counts exactly the stars drawn
    ends = np.nonzero(np.diff(sched.lr(np.arange(n + 1))) > 0)[0]
    fig = line_figure([Curve("SGDR", k, lr)], x_title="iteration", y_title="learning rate",
                      uirevision="learn-sgdr")
    fig.add_trace(go.Scatter(x=ends, y=lr[ends], mode="markers", name="snapshot (cycle end)",
                             marker={"size": 9, "color": "#2ca02c", "symbol": "star"}))
    return LessonView(figures=[("sgdr", fig)],
                      metrics=[("snapshots (cycle ends) in this budget", str(len(ends)))])


def _view_wsd(values, on_run: Callable | None = None) -> LessonView:
    lr_fig, loss_fig, metrics = wsd.wsd_figures(values["peak"], int(values["total_steps"]),
                                                values["branch_at"], values["cooldown"],
                                                values["shape"])
    return LessonView(figures=[("lr", lr_fig), ("loss", loss_fig)], metrics=metrics)


def _view_schedule_free(values, on_run: Callable | None = None) -> LessonView:
    s = schedule_free.showdown(values["task"], num_iter=int(values["num_iter"]),
                               seeds=_seeds(values), on_run=on_run)
    best = s.best_runs()
    fig = training.accuracy_figure(best, highlight=next(k for k in best if "schedule-free" in k))
    return LessonView(figures=[("accuracy", fig)], metrics=s.metrics(),
                      table=s.table().reset_index(), summary=s.summary(),
                      notes=["Each method is drawn at its own best peak LR of the grid "
                             f"{', '.join(f'{p:g}' for p in schedule_free.PEAK_GRID)} (the "
                             "table has them all); every run gets the same number of updates."])


# ----------------------------------------------------------------------------- lessons

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "lr_matters", "1. Why the learning rate matters",
        "The learning rate is the most important hyper-parameter. Too low and the network barely "
        "moves; too high and the loss thrashes or diverges; in between it learns fast. The demo "
        "trains the same small network on digits with four fixed LRs; pick yours with the slider.",
        Claim("The learning rate matters more than any other hyper-parameter: too small learns "
              "slowly, too large diverges.",
              "Bengio, Practical Recommendations for Gradient-Based Training of Deep "
              "Architectures, 2012",
              "Shown on digits: 0.1 beats 0.001 and 1.0 by a wide margin on every seed."),
        (Control("lr", "Your learning rate", "steps", 0.05, options=_LRS), _SEEDS),
        _view_lr_matters, instant=False,
        rules=("The optimum is usually within a factor of two of the largest LR that still "
               "converges (Bengio 2012).",)),
    Lesson(
        "stability", "2. The stability limit",
        "On a quadratic bowl gradient descent is exact arithmetic. Along an axis of curvature λ "
        "each step multiplies the error by (1 − ηλ): past η = 2/λmax the sharpest axis overshoots "
        "more than it corrects, and the run diverges. Momentum β moves the limit to "
        "2(1+β)/λmax and adds a second choice: below critical damping (1 − √β)²/λ an axis crawls, "
        "above it it oscillates. The flat axis (curvature 1/κ) sets how slow the whole run is; "
        "a larger condition number κ makes the bowl a longer valley.",
        Claim("Gradient descent is stable only while η < 2/λmax; neural networks train at this "
              "edge, with the sharpness λmax hovering just at 2/η.",
              "Cohen, Kaur, Li, Kolter, Talwalkar, Gradient Descent on Neural Networks Typically "
              "Occurs at the Edge of Stability, 2021",
              "The bowl shows the limit exactly (the tests check both sides of it); the range-"
              "test page draws 2/λmax measured on your own network."),
        (Control("lr", "Learning rate η", "slider", 1.0, lo=0.05, hi=4.0, step=0.05),
         Control("momentum", "Momentum β", "slider", 0.0, lo=0.0, hi=0.95, step=0.05),
         Control("condition", "Condition number κ = λmax/λmin", "steps", 10.0,
                 options=(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0))),
        _view_stability, instant=True,
        rules=("Polyak's best momentum for condition number κ is ((√κ−1)/(√κ+1))², with "
               "η = 4/(√λmax+√λmin)².",)),
    Lesson(
        "range_test", "3. Reading a range test",
        "Raise the learning rate every batch, from tiny to huge, and plot the loss. Where the loss "
        "starts to fall, the LR is big enough to learn; where it bottoms out and shoots up, it is "
        "too big. Each rule reads a different point off the same curve; the table gives each "
        "rule's pick and, from the suggestion benchmark, how much accuracy it cost against the "
        "best LR of a grid (its regret). The small lower panel divides the LR by the largest "
        "stable LR measured along the way (lesson 2): the loss blows up soon after it passes 1. "
        "This is the Range test page's default test, so both pages give the same answer.",
        Claim("One range test replaces a grid search: train between the LR where the loss starts "
              "to fall and the LR where it stops falling.",
              "Smith, Cyclical Learning Rates for Training Neural Networks, 2017 (arXiv 2015)",
              "Checked on digits: a fixed LR at the range test's recommended pick trains to "
              "within a point of the best LR of the grid {0.01, 0.03, 0.1, 0.3}, on every seed "
              "tried, without training the grid. Not every rule does: the table's regret says "
              "how much accuracy each rule's pick cost in the suggestion benchmark."),
        (Control("num_iter", "Iterations of the test", "steps", 100, options=(50, 100, 200, 400)),
         Control("seed", "Seed", "slider", 0, lo=0, hi=9, step=1,
                 help="A suggestion moves with the seed: try a few before trusting one.")),
        _view_range_test, instant=False,
        rules=("Recommended max_lr: the middle, on a log scale, of the steepest fall and a third "
               "of the lowest loss; it lost the least accuracy of every rule in the suggestion "
               "benchmark, and its band shows how far it can move.",
               "max_lr: where the loss still falls steeply, about a factor of 10 left of the "
               "minimum (fastai).",
               "base_lr = max_lr / 3 or / 4 for CLR (Smith 2015); / 10 for 1cycle (Smith 2018).")),
    Lesson(
        "policies", "4. triangular, triangular2, exp_range and the three windows",
        "CLR lets the LR rise and fall between base_lr and max_lr. triangular keeps the amplitude; "
        "triangular2 halves it each cycle; exp_range shrinks it by gamma every iteration. Smith "
        "found the triangular (Bartlett), parabolic (Welch) and sinusoidal (Hann) windows "
        "equivalent, and kept the triangle for its simplicity.",
        Claim("The triangular, Welch and Hann windows give equivalent results.",
              "Smith, Cyclical Learning Rates for Training Neural Networks, 2017 (arXiv 2015)",
              "Run the demo: it trains each window on three seeds and says, from its own "
              "table, whether the windows differ by more than one window moves between seeds."),
        (Control("base_lr", "base_lr", "steps", 0.03, options=_LRS),
         Control("max_lr", "max_lr", "steps", 0.3, options=_LRS),
         Control("step_size", "Step size (half a cycle)", "slider", 200, lo=20, hi=2000, step=20),
         Control("gamma", "exp_range gamma", "slider", 0.998, lo=0.99, hi=1.0, step=0.0005)),
        _view_policies, instant=True,
        rules=("Step size (half a cycle) = 2–10 × the iterations in an epoch (Smith 2015).",
               "Stop training at the end of a cycle, when the LR is back at base_lr.")),
    Lesson(
        "clr_vs_fixed", "5. CLR against the best fixed learning rate",
        "Smith's CIFAR-10 table: triangular2 reached the fixed-LR accuracy (81.4 %) in 25,000 "
        "iterations instead of 70,000. A fair check compares CLR with the *best* fixed LR of a "
        "grid, not one picked by hand: the demo trains triangular2 between your bounds and every "
        "fixed LR of {0.01, 0.03, 0.1, 0.3}, and reports the speed-up to the best one's accuracy "
        "on each seed.",
        Claim("triangular2 reaches the fixed-LR accuracy in 2.8× fewer iterations.",
              "Smith, Cyclical Learning Rates for Training Neural Networks, 2017 (arXiv 2015)",
              "Not on digits: with bounds from the range test (0.03–0.3) CLR matches or beats "
              "the best fixed LR's accuracy, but the speed-up to it varies from seed to seed and "
              "stays well below 2.8× (the table and the speed-up line show it for your "
              "settings). Digits is learnt in a few epochs by any reasonable LR, which leaves a "
              "schedule little to win."),
        (Control("base_lr", "base_lr", "steps", 0.03, options=_LRS),
         Control("max_lr", "max_lr", "steps", 0.3, options=_LRS), _ITERS, _SEEDS),
        _view_clr, instant=False,
        rules=("CLR's benefit shrinks with adaptive optimizers such as Adam (Smith 2015).",
               "Both rising and falling LR are needed: decay alone is not CLR.")),
    Lesson(
        "super_convergence", "6. Super-convergence: 1cycle against a fixed LR",
        "Smith (2018): one cycle, min = max / 10, equal steps up and down, then annihilate the LR "
        "to about max / 1000 in the last iterations; momentum moves the other way, 0.95 → 0.85 → "
        "0.95. Large LRs regularise, so reduce other regularisation. The demo gives 1cycle and "
        "every fixed LR of the grid the same budget.",
        Claim("With 1cycle a network trains to the same accuracy in an order of magnitude fewer "
              "iterations (super-convergence).",
              "Smith, Topin, Super-Convergence: Very Fast Training of Neural Networks Using Large "
              "Learning Rates, 2019",
              "Not on digits: 1cycle matches the best fixed LR of the grid at the same budget "
              "(within a point) without having to search for it, but does not clearly beat it. "
              "Super-convergence needs a network and data where large LRs regularise (ResNets on "
              "CIFAR-10); this small MLP is not one."),
        (Control("max_lr", "1cycle max_lr", "steps", 0.3, options=_LRS), _ITERS, _SEEDS),
        _view_one_cycle, instant=False,
        rules=("Momentum: cyclical 0.95 → 0.85 beats a constant 0.9 (Smith 2018).",
               "Weight decay: run range tests at 1e-3, 1e-4, 1e-5, 0 and keep the largest that "
               "still allows a high max_lr (Sweeps page).")),
    Lesson(
        "sgdr", "7. SGDR: cosine annealing with warm restarts",
        "Loshchilov & Hutter's SGDR anneals the LR along a cosine and restarts it, each cycle "
        "T_mult times longer. Each restart can jump out of a sharp minimum; snapshots at the "
        "cycle ends (stars) make a free ensemble (Huang et al., Snapshot Ensembles, 2017).",
        Claim("Warm restarts reach a given accuracy in 2–4× fewer epochs than a step decay.",
              "Loshchilov, Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, 2017",
              "Not checked here: digits is learnt within a single cycle, so there is nothing for a "
              "restart to escape; the lesson only draws the schedule."),
        (Control("max_lr", "max_lr", "steps", 0.1, options=_LRS),
         Control("base_lr", "base_lr (η_min)", "steps", 0.001, options=_LRS),
         Control("T_0", "T_0 (first cycle)", "slider", 50, lo=10, hi=500, step=10),
         Control("T_mult", "T_mult", "slider", 2, lo=1, hi=4, step=1),
         Control("num_iter", "Iterations shown", "steps", 1000, options=(300, 1000, 3000))),
        _view_sgdr, instant=True,
        rules=("Take snapshots at the end of each cycle, where the LR is lowest.",)),
    Lesson(
        "wsd", "8. Warmup-stable-decay",
        "WSD warms up, holds the LR constant, and cools down only at the end. Why does the loss "
        "drop so sharply in the cool-down? Split the loss in two: progress along the flat "
        "directions, which the *sum* of the LRs buys, and a noise floor proportional to the "
        "*current* LR. The stable phase buys progress but sits on a high floor; the cool-down "
        "lowers the floor in a few steps and keeps the progress. So a cool-down can be branched "
        "from any point of the stable phase — no need to fix the budget in advance. The model "
        "here is the noisy quadratic, where the expected loss is computed exactly (no seeds).",
        Claim("A short cool-down (about 20 % of the steps) branched from a constant LR matches a "
              "cosine schedule of the same length.",
              "Hägele, Bakouch, Kosson, Ben Allal, Von Werra, Jaggi, Scaling Laws and "
              "Compute-Optimal Training Beyond Fixed Training Durations, 2024",
              "Holds on the noisy quadratic at moderate peak LRs (WSD ends lower than cosine); "
              "push the peak towards the stability limit (η → 2/λmax = 2) and cosine wins: "
              "the stable phase then spends its steps on a noise floor the cool-down must "
              "undo."),
        (Control("peak", "Peak LR", "steps", 0.3, options=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5)),
         Control("branch_at", "Branch the cool-down at (fraction of the run)", "slider", 0.5,
                 lo=0.1, hi=1.0, step=0.05),
         Control("cooldown", "Cool-down length (fraction of the run)", "slider", 0.2, lo=0.05,
                 hi=0.5, step=0.05),
         Control("shape", "Cool-down shape", "choice", "1-sqrt", options=SHAPES),
         Control("total_steps", "Run length (steps)", "steps", 1000,
                 options=(500, 1000, 2000))),
        _view_wsd, instant=True,
        rules=("Cool down for 10–20 % of the run; the 1-sqrt shape does slightly better than "
               "linear (Hägele et al. 2024).",
               "Keep checkpoints from the stable phase: any of them can be cooled down later.")),
    Lesson(
        "schedule_free", "9. Do you need a schedule? Cosine, WSD and schedule-free",
        "Schedule-free optimizers keep the LR constant after a warm-up and replace the decay by "
        "averaging: the gradient is taken at a point between the latest step and the running "
        "average, and the average is what you evaluate (optimizer.eval() swaps it in). No "
        "schedule means no training length fixed in advance. The demo gives warm-up + cosine, "
        "warmup-stable-decay and schedule-free SGD the same budget on a digits task, each at "
        "its own best peak LR of the same grid.",
        Claim("Schedule-free SGD and AdamW with a constant LR match or beat tuned schedules "
              "(cosine, linear decay) without knowing the training length.",
              "Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, The Road Less Scheduled, 2024",
              "MLP on digits (200 updates, seeds 0 and 1): at each method's best peak LR, "
              "schedule-free SGD matches the best schedule (within a point) — but its best "
              "peak is ten times the schedules' or more, where both schedules diverge; at "
              "their peak it is more than 10 points behind. It removes the decay, not the LR "
              "search. Logistic regression on digits (convex): all three end within a point of "
              "each other at their best peaks, so digits cannot tell them apart there. The "
              "sentence under the chart says what your run shows, from its own numbers."),
        (Control("task", "Task", "choice", "mlp", options=tuple(schedule_free.TASKS)),
         Control("num_iter", "Updates (budget)", "steps", 200, options=(100, 200, 400),
                 help="Every method gets the same number of updates."),
         Control("seeds", "Seeds", "slider", 2, lo=1, hi=3, step=1,
                 help="Each method is trained once per seed at every peak LR.")),
        _view_schedule_free, instant=False,
        rules=("Schedule-free SGD wants a larger LR than a scheduled one (the averaging damps "
               "its steps): search its LR again, do not reuse the schedule's.",
               "Evaluate and save in optimizer.eval() mode; train in optimizer.train() mode; "
               "with BatchNorm, recompute its statistics in eval mode (Defazio et al. 2024).")),
)

#: Lessons that train on digits and check their claim with a button (instant lessons that
#: only draw a schedule attach their training check here).
CLAIM_CHECKS: dict[str, Callable[..., LessonView]] = {"policies": _check_windows}


def lesson_by_key(key: str) -> Lesson:
    return {lesson.key: lesson for lesson in LESSONS}[key]
