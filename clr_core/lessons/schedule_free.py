"""Do you need a schedule at all? Warm-up + cosine, warmup-stable-decay and schedule-free SGD
(Defazio et al., "The Road Less Scheduled", 2024) at the same budget on the digits tasks,
each at the best peak LR of the same grid, so no method is judged at another's LR."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clr_core.lessons.digits import (
    TIE_POINTS,
    DigitsRun,
    margin_words,
    tie_margin_points,
    train_grid,
)
from clr_core.schedules import make_schedule
from clr_core.schedules.rules import decay_steps_for, warmup_steps_for

__all__ = ["DIVERGED", "METHODS", "PEAK_GRID", "SCHEDULED", "SHORT", "TASKS", "TIE_POINTS", "Showdown",
           "showdown"]

#: The peak LRs every method is trained at; each is judged at its own best.
PEAK_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
#: The digits tasks (the bench's MLP, and logistic regression: a convex problem).
TASKS = {"mlp": "MLP (32 hidden units)", "logreg": "logistic regression"}
#: Method -> the optimizer it trains with; every method warms up for 10% of the budget.
METHODS = {"warm-up + cosine": "sgd", "WSD": "sgd", "schedule-free SGD": "sgd_schedulefree"}
#: The methods that decay their LR on a schedule.
SCHEDULED = ("warm-up + cosine", "WSD")
#: Below this median accuracy a run has diverged: ten digit classes, so chance is 10 %.
DIVERGED = 0.2
#: Methods as the tiles name them: four tiles share the page's width.
SHORT = {"warm-up + cosine": "cosine", "WSD": "WSD", "schedule-free SGD": "schedule-free"}


def _schedule(method: str, peak: float, num_iter: int) -> dict:
    warmup = warmup_steps_for(num_iter)
    if method == "warm-up + cosine":
        s = make_schedule("warmup_cosine", max_lr=peak, warmup_steps=warmup, total_steps=num_iter)
    elif method == "WSD":
        s = make_schedule("wsd", max_lr=peak, warmup_steps=warmup, total_steps=num_iter,
                          decay_steps=decay_steps_for(num_iter))
    else:  # schedule-free: a warm-up, then constant; the optimizer averages instead of decaying
        s = make_schedule("warmup_constant", max_lr=peak, warmup_steps=warmup)
    return s.to_dict()


def _label(method: str, peak: float) -> str:
    return f"{method} @ {peak:g}"


@dataclass
class Showdown:
    """Every method at every peak of the grid, on every seed, for one task and budget."""

    task: str
    num_iter: int
    runs: dict[str, list[DigitsRun]]

    def median(self, method: str, peak: float) -> float:
        return float(np.median([r.final_val_accuracy for r in self.runs[_label(method, peak)]]))

    def best_peak(self, method: str) -> float:
        """The method's best peak of the grid (median final accuracy; the lower LR on ties)."""
        return max(PEAK_GRID, key=lambda p: (self.median(method, p), -p))

    def best(self, method: str) -> float:
        return self.median(method, self.best_peak(method))

    def best_runs(self) -> dict[str, list[DigitsRun]]:
        """Each method's runs at its own best peak, labelled with it, for the figure."""
        return {_label(m, self.best_peak(m)): self.runs[_label(m, self.best_peak(m))]
                for m in METHODS}

    def table(self) -> pd.DataFrame:
        """Median final accuracy % of every method (rows) at every peak LR (columns)."""
        return pd.DataFrame({f"peak {p:g}": [round(100 * self.median(m, p), 1) for m in METHODS]
                             for p in PEAK_GRID}, index=list(METHODS)).rename_axis("method")

    def best_scheduled(self) -> str:
        """The scheduled method (warm-up + cosine or WSD) with the higher best accuracy."""
        return max(SCHEDULED, key=self.best)

    def spread(self) -> float:
        """Points between the best and the worst method, each at its own best peak."""
        bests = [100 * self.best(m) for m in METHODS]
        return max(bests) - min(bests)

    def seed_spread(self, method: str, peak: float) -> float:
        """Points of accuracy the method moves between seeds at this peak."""
        return 100 * float(np.ptp([r.final_val_accuracy
                                   for r in self.runs[_label(method, peak)]]))

    def margin(self, *methods: str) -> float:
        """Points within which ``methods`` (each at its best peak) cannot be told apart: a
        point (the lesson's stated margin), or the most one of them moves between seeds."""
        return tie_margin_points(*(self.seed_spread(m, self.best_peak(m)) for m in methods))

    def summary(self) -> str:
        """The lesson's finding in words, read off this showdown's own numbers (the ones its
        table and metrics show), so the sentence cannot disagree with them on any machine.
        "About the same" is within `margin`: a point, or the spread over seeds if larger."""
        sf, scheduled = "schedule-free SGD", self.best_scheduled()
        other = next(m for m in SCHEDULED if m != scheduled)
        mine, theirs = 100 * self.best(sf), 100 * self.best(scheduled)
        p_sf, p_s = self.best_peak(sf), self.best_peak(scheduled)
        diff, margin = mine - theirs, self.margin(sf, scheduled)
        within = margin_words(margin, "the seeds move")
        verdict = (f"about the same (within {within})" if abs(diff) <= margin else
                   f"{abs(diff):.1f} points {'better' if diff > 0 else 'worse'}, more than "
                   f"{within}")
        tied = 100 * (self.best(scheduled) - self.best(other)) <= self.margin(scheduled, other)
        which = (f"{scheduled} (tied with {other} at {100 * self.best(other):.1f} %)" if tied
                 else f"{scheduled}, the better schedule,")
        at_theirs = 100 * self.median(sf, p_s)
        text = (f"At its best peak LR {p_sf:g}, **schedule-free SGD** reaches {mine:.1f} % "
                f"against {theirs:.1f} % for {which} at its best peak {p_s:g}: {verdict}. "
                f"The three methods' best accuracies span {self.spread():.1f} points.")
        if p_sf != p_s:
            diverged = [m for m in SCHEDULED if self.median(m, p_sf) < DIVERGED]
            text += (f" Its best peak is {p_sf / p_s:g}× {scheduled}'s; at {scheduled}'s peak "
                     f"schedule-free SGD reaches {at_theirs:.1f} %"
                     + (f", and at its own peak {' and '.join(diverged)} "
                        f"{'diverges' if len(diverged) == 1 else 'diverge'}" if diverged else "")
                     + ".")
        return text

    def metrics(self) -> list[tuple[str, str]]:
        """Short tile labels (four tiles share the width: a long label was cut); the
        sentence above them says what each is."""
        out = [(f"{SHORT[m]} @ {self.best_peak(m):g}", f"{100 * self.best(m):.1f} %")
               for m in METHODS]
        sf, scheduled = "schedule-free SGD", self.best_scheduled()
        if self.best_peak(scheduled) != self.best_peak(sf):  # else it is the tile before
            out.append((f"{SHORT[sf]} @ {self.best_peak(scheduled):g}",
                        f"{100 * self.median(sf, self.best_peak(scheduled)):.1f} %"))
        return out


def showdown(task: str = "mlp", *, num_iter: int = 200, seeds: Sequence[int] = (0, 1),
             on_run: Callable[[DigitsRun], None] | None = None) -> Showdown:
    """Train every method at every peak of `PEAK_GRID` for ``num_iter`` updates on ``task``."""
    variants = {_label(m, p): {"schedule": _schedule(m, p, num_iter), "optimizer": opt,
                               "model": task}
                for m, opt in METHODS.items() for p in PEAK_GRID}
    runs = train_grid(variants, num_iter=num_iter, seeds=seeds,
                      eval_every=max(num_iter // 20, 1), on_run=on_run)
    return Showdown(task, num_iter, runs)
