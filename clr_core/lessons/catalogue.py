"""The lessons, in teaching order: text, claim, controls and the view each one draws."""

from __future__ import annotations

from collections.abc import Callable

from clr_core.lessons import schedule_free
from clr_core.lessons.model import Claim, Control, Lesson, LessonView
from clr_core.lessons.views import (
    BUDGET_CONTROL,
    LR_STEPS,
    SEEDS_CONTROL,
    check_windows,
    view_clr,
    view_lr_matters,
    view_one_cycle,
    view_policies,
    view_range_test,
    view_schedule_free,
    view_sgdr,
    view_stability,
    view_wsd,
)
from clr_core.schedules.wsd import SHAPES

__all__ = ["CLAIM_CHECKS", "LESSONS", "lesson_by_key"]

#: Every lesson, in the order the Learn page lists them.
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
              "Run the demo: the sentence under it says, from its own table, by how much 0.1 "
              "beats 0.001 and 1.0 on each seed, and which rates tie within the spread over "
              "seeds."),
        (Control("lr", "Your learning rate", "steps", 0.05, options=LR_STEPS), SEEDS_CONTROL),
        view_lr_matters, instant=False,
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
        view_stability, instant=True,
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
        view_range_test, instant=False,
        rules=("Recommended max_lr: the median, on a log scale, of three readings (the middle "
               "of the steepest fall and a third of the lowest loss, fastai's minimum / 10 and "
               "fastai's steep); on tasks nobody tuned it to it was within a point of the best "
               "peak more often than any single rule, and its band shows how far it can move.",
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
        (Control("base_lr", "base_lr", "steps", 0.03, options=LR_STEPS),
         Control("max_lr", "max_lr", "steps", 0.3, options=LR_STEPS),
         Control("step_size", "Step size (half a cycle)", "slider", 200, lo=20, hi=2000, step=20),
         Control("gamma", "exp_range gamma", "slider", 0.998, lo=0.99, hi=1.0, step=0.0005)),
        view_policies, instant=True,
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
        (Control("base_lr", "base_lr", "steps", 0.03, options=LR_STEPS),
         Control("max_lr", "max_lr", "steps", 0.3, options=LR_STEPS), BUDGET_CONTROL, SEEDS_CONTROL),
        view_clr, instant=False,
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
        (Control("max_lr", "1cycle max_lr", "steps", 0.3, options=LR_STEPS), BUDGET_CONTROL, SEEDS_CONTROL),
        view_one_cycle, instant=False,
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
        (Control("max_lr", "max_lr", "steps", 0.1, options=LR_STEPS),
         Control("base_lr", "base_lr (η_min)", "steps", 0.001, options=LR_STEPS),
         Control("T_0", "T_0 (first cycle)", "slider", 50, lo=10, hi=500, step=10),
         Control("T_mult", "T_mult", "slider", 2, lo=1, hi=4, step=1),
         Control("num_iter", "Iterations shown", "steps", 1000, options=(300, 1000, 3000))),
        view_sgdr, instant=True,
        rules=("Take snapshots at the end of each cycle, where the LR is lowest.",)),
    Lesson(
        "wsd", "8. Warmup-stable-decay",
        "WSD warms up, holds the LR constant, and cools down only at the end. Why does the loss "
        "drop so sharply in the cool-down? Split the loss in two: progress along the flat "
        "directions, which the *sum* of the LRs buys, and a noise floor proportional to the "
        "*current* LR. The stable phase buys progress but sits on a high floor; the cool-down "
        "lowers the floor in a few steps, and its smaller steps buy less progress: it pays off "
        "where the floor is what holds the loss up, which the sentence under the chart says "
        "for your settings. A cool-down can be branched from any point of the stable phase — "
        "no need to fix the budget in advance. The model here is the noisy quadratic, where "
        "the expected loss is computed exactly (no seeds).",
        Claim("A short cool-down (about 20 % of the steps) branched from a constant LR matches a "
              "cosine schedule of the same length.",
              "Hägele, Bakouch, Kosson, Ben Allal, Von Werra, Jaggi, Scaling Laws and "
              "Compute-Optimal Training Beyond Fixed Training Durations, 2024",
              "Only in part, on the noisy quadratic: at the lesson's defaults (peak 0.3, "
              "branched at half the run, 20 % cool-down) WSD ends lower than cosine; branch at "
              "a tenth of the run, or push the peak towards the stability limit "
              "(η → 2/λmax = 2, e.g. 1.5), and cosine wins. The sentence under the chart says "
              "which your settings show, from the curves drawn."),
        (Control("peak", "Peak LR", "steps", 0.3, options=(0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5)),
         Control("branch_at", "Branch the cool-down at (fraction of the run)", "slider", 0.5,
                 lo=0.1, hi=1.0, step=0.05),
         Control("cooldown", "Cool-down length (fraction of the run)", "slider", 0.2, lo=0.05,
                 hi=0.5, step=0.05),
         Control("shape", "Cool-down shape", "choice", "1-sqrt", options=SHAPES),
         Control("total_steps", "Run length (steps)", "steps", 1000,
                 options=(500, 1000, 2000))),
        view_wsd, instant=True,
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
        view_schedule_free, instant=False,
        rules=("Schedule-free SGD wants a larger LR than a scheduled one (the averaging damps "
               "its steps): search its LR again, do not reuse the schedule's.",
               "Evaluate and save in optimizer.eval() mode; train in optimizer.train() mode; "
               "with BatchNorm, recompute its statistics in eval mode (Defazio et al. 2024).")),
)

#: Lessons that train on digits and check their claim with a button (instant lessons that
#: only draw a schedule attach their training check here).
CLAIM_CHECKS: dict[str, Callable[..., LessonView]] = {"policies": check_windows}


def lesson_by_key(key: str) -> Lesson:
    """The lesson with this key (``"sgdr"``, ``"schedule_free"``...); KeyError if none has it."""
    return {lesson.key: lesson for lesson in LESSONS}[key]
