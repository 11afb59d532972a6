"""What each lesson draws: the view functions the catalogue names, each computing its
figure, its table and every sentence that states a result from the same run, so a sentence
cannot disagree with what it sits beside."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from clr_core.lessons import bowl, schedule_free, training, wsd
from clr_core.lessons.digits import TIE_POINTS, margin_words, tie_margin_points
from clr_core.lessons.model import Control, LessonView
from clr_core.present.plots import Curve, line_figure
from clr_core.present.words import band_text
from clr_core.schedules import make_schedule

__all__ = [
    "BUDGET_CONTROL",
    "LR_STEPS",
    "SEEDS_CONTROL",
    "check_windows",
    "comparison_view",
    "median_speedup",
    "percent",
    "seeds_of",
    "view_clr",
    "view_lr_matters",
    "view_one_cycle",
    "view_policies",
    "view_range_test",
    "view_schedule_free",
    "view_sgdr",
    "view_stability",
    "view_wsd",
    "windows_verdict",
    "lr_verdict",
    "tie_margin",
    "TIE_POINTS",
]

LR_STEPS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)
SEEDS_CONTROL = Control("seeds", "Seeds", "slider", 2, lo=1, hi=5, step=1,
                 help="Each variant is trained once per seed; the band shows their spread.")
BUDGET_CONTROL = Control("num_iter", "Updates (budget)", "steps", 200, options=(50, 100, 150, 200, 300, 400),
                 help="Every variant gets the same number of updates.")


def median_speedup(xs) -> str:
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


def percent(acc) -> str:
    """A median accuracy as a metric tile shows it, short enough never to be cut (the
    range over seeds is in the table beside it)."""
    return f"{np.median(acc):.1f} %"


def comparison_view(c: training.Comparison, *, speedup: bool,
                     against: str = "the best fixed learning rate of the grid",
                     tile: str = "best fixed LR of the grid") -> LessonView:
    """``against`` / ``tile``: what the baselines are (the windows lesson compares windows,
    not fixed LRs), in the summary and on the tile."""
    best = c.best_baseline
    acc = c.finals(c.candidate) * 100
    base = c.finals(best) * 100
    metrics = [(f"{c.candidate} (median)", percent(acc)),
               (f"{tile}: {best}", percent(base))]
    if speedup:
        metrics.append(("speed-up to the best baseline's accuracy", median_speedup(c.speedups())))
    diff = float(np.median(acc) - np.median(base))
    summary = (f"**{c.candidate}** reaches {np.median(acc):.1f} % against {np.median(base):.1f} % "
               f"for {against} ({best}): "
               + ("about the same" if abs(diff) < 1 else f"{abs(diff):.1f} points "
                  + ("better" if diff > 0 else "worse")) + ".")
    return LessonView(figures=[("accuracy", training.accuracy_figure(c.runs, highlight=c.candidate))],
                      metrics=metrics, table=training.summary_table(c), summary=summary)


def seeds_of(values) -> tuple[int, ...]:
    return tuple(range(int(values["seeds"])))


# ----------------------------------------------------------------------------- views


def view_lr_matters(values, on_run: Callable | None = None) -> LessonView:
    """Every learning rate's accuracy side by side (too low, good, too high, yours): no
    "best of the grid" here, the grid is the lesson; every sentence is `lr_verdict`'s,
    read off the runs the table and chart show."""
    c = training.lr_matters(values["lr"], seeds=seeds_of(values), on_run=on_run)
    medians = {label: float(np.median(c.finals(label) * 100)) for label in c.runs}
    yours = next(label for label in c.runs if label.startswith("yours"))
    # no roles in the table: "best baseline" beside "too low 0.001" read as a recommendation
    return LessonView(figures=[("accuracy", training.accuracy_figure(c.runs, highlight=yours))],
                      metrics=[(label, f"{m:.1f} %") for label, m in medians.items()],
                      table=training.summary_table(c).drop(columns="role"),
                      summary=lr_verdict(c, yours))


def tie_margin(c: training.Comparison, *labels: str) -> float:
    """Points of accuracy within which ``labels`` cannot be told apart on these runs
    (`tie_margin_points` of how far each moves between seeds)."""
    return tie_margin_points(*(float(np.ptp(c.finals(k))) * 100 for k in labels))


def _margin_words(m: float) -> str:
    return margin_words(m, "they move between seeds")


def lr_verdict(c: training.Comparison, yours: str) -> str:
    """Lesson 1's sentences from its own runs: your LR's accuracy; the best of the four only
    when it leads the runner-up by more than `tie_margin`, otherwise the tie, named; and
    Bengio's claim (``c.candidate`` against each of ``c.baselines``) seed by seed, never "on
    every seed" unless it is."""
    medians = {k: float(np.median(c.finals(k) * 100)) for k in c.runs}  # the table's
    ranked = sorted(medians, key=medians.get, reverse=True)
    lead = ranked[0]
    top = [k for k in ranked if medians[lead] - medians[k] <= tie_margin(c, lead, k)]
    text = f"Your learning rate reaches **{medians[yours]:.1f} %**; "
    if len(top) == 1:
        runner = ranked[1]
        text += (f"the best of these four is **{lead}** with {medians[lead]:.1f} %, "
                 f"{medians[lead] - medians[runner]:.1f} points ahead of {runner}: more than "
                 f"{_margin_words(tie_margin(c, lead, runner))} (medians over seeds).")
    else:
        low, high = f"{medians[top[-1]]:.1f}", f"{medians[lead]:.1f}"
        span = f"all at {high} %" if low == high else f"{low} to {high} %"
        text += (f"the best of these four is a tie: {', '.join(top[:-1])} and {top[-1]} "
                 f"({span}) differ by no more than "
                 f"{_margin_words(tie_margin(c, *top))} (medians over seeds).")
    n = len(c.finals(c.candidate))
    for other in c.baselines:
        gaps = (c.finals(c.candidate) - c.finals(other)) * 100
        m = tie_margin(c, c.candidate, other)
        won = int(np.sum(gaps > m))
        where = "On every seed" if won == n else f"On {won} of {n} seeds"
        text += (f" {where} {c.candidate} beats {other} by more than {_margin_words(m)}"
                 + (f": by {gaps.min():.1f} points at least." if won == n else
                    f" (by {', '.join(f'{g:.1f}' for g in gaps)} points).")
                 )
    for label, runs in c.runs.items():
        blown = sum(bool(getattr(r, "diverged", False)) for r in runs)
        if blown:
            text += (f" {label} diverged on "
                     f"{'every seed' if blown == n else f'{blown} of {n} seeds'}"
                     " (its loss blew up and the run stopped).")
    return text


def view_stability(values, on_run: Callable | None = None) -> LessonView:
    path, rates, metrics = bowl.stability_figures(values["lr"], values["momentum"],
                                                  values["condition"])
    m = dict(metrics)
    limit = m["largest stable LR, 2(1+β)/λmax"]
    verdict = "converges" if "converges" in m["your LR"] else "diverges"
    summary = (f"With learning rate {values['lr']:g} the run **{verdict}**: the largest learning "
               f"rate that still settles in this bowl is {limit}; past it every step overshoots "
               "more than it corrects.")
    return LessonView(figures=[("path", path), ("rate", rates)], metrics=metrics, summary=summary)


def view_range_test(values, on_run: Callable | None = None) -> LessonView:
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


def view_policies(values, on_run: Callable | None = None) -> LessonView:
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


def check_windows(values, on_run: Callable | None = None) -> LessonView:
    """Smith's claim checked on the runs the table shows: the windows are equivalent when
    their medians differ by less than the spread over seeds of one window."""
    c = training.windows(values["base_lr"], values["max_lr"],
                         seeds=(0, 1, 2), on_run=on_run)
    view = comparison_view(c, speedup=False, against="the best of the other windows",
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


def view_clr(values, on_run: Callable | None = None) -> LessonView:
    c = training.clr_vs_fixed(values["base_lr"], values["max_lr"],
                              num_iter=int(values["num_iter"]), seeds=seeds_of(values),
                              on_run=on_run)
    return comparison_view(c, speedup=True)


def view_one_cycle(values, on_run: Callable | None = None) -> LessonView:
    c = training.one_cycle_vs_fixed(values["max_lr"], num_iter=int(values["num_iter"]),
                                    seeds=seeds_of(values), on_run=on_run)
    return comparison_view(c, speedup=True)


def view_sgdr(values, on_run: Callable | None = None) -> LessonView:
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


def view_wsd(values, on_run: Callable | None = None) -> LessonView:
    lr_fig, loss_fig, metrics, summary = wsd.wsd_figures(
        values["peak"], int(values["total_steps"]), values["branch_at"], values["cooldown"],
        values["shape"])
    return LessonView(figures=[("lr", lr_fig), ("loss", loss_fig)], metrics=metrics,
                      summary=summary)


def view_schedule_free(values, on_run: Callable | None = None) -> LessonView:
    s = schedule_free.showdown(values["task"], num_iter=int(values["num_iter"]),
                               seeds=seeds_of(values), on_run=on_run)
    best = s.best_runs()
    fig = training.accuracy_figure(best, highlight=next(k for k in best if "schedule-free" in k))
    return LessonView(figures=[("accuracy", fig)], metrics=s.metrics(),
                      table=s.table().reset_index(), summary=s.summary(),
                      notes=["Each method is drawn at its own best peak LR of the grid "
                             f"{', '.join(f'{p:g}' for p in schedule_free.PEAK_GRID)} (the "
                             "table has them all); every run gets the same number of updates."])


# ----------------------------------------------------------------------------- lessons
