"""The training lessons' demos: each trains a small grid on the digits bench and reports the
comparison the lesson teaches, always against the *best* fixed LR of a grid, with the spread
over seeds, so the page can show the honest figure rather than a hand-picked one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from clr_core.jobs.runners import never_stop, no_events, run_range_test_job
from clr_core.lessons.digits import (
    DigitsRun,
    best_of,
    iterations_to_reach,
    one_thread,
    train_grid,
)
from clr_core.present.plots import range_test_figure
from clr_core.present.style import color_for, finish
from clr_core.runs.reports import RangeTestReport
from clr_core.setup.configs import SHARPNESS_EVERY, RangeTestConfig
from clr_core.setup.data_catalogue import summary_of
from clr_core.suggest.recommend import RECOMMENDED, rule_label
from clr_core.suggest.types import measured_regret

__all__ = ["FIXED_GRID", "Comparison", "accuracy_figure", "clr_vs_fixed", "lr_matters",
           "one_cycle_vs_fixed", "range_test_reading", "summary_table", "windows"]

#: The fixed-LR grid every claim is measured against (its best member is the baseline).
FIXED_GRID = (0.01, 0.03, 0.1, 0.3)


def _fixed(lr: float) -> dict:
    return {"schedule": {"policy": "fixed", "lr": lr}}


def _fixed_grid() -> dict[str, dict]:
    return {f"fixed {lr:g}": _fixed(lr) for lr in FIXED_GRID}


@dataclass
class Comparison:
    """Runs of one lesson: ``candidate`` is what the lesson teaches, ``baselines`` the grid
    it must beat (the best of it is chosen after training, never before)."""

    runs: dict[str, list[DigitsRun]]
    candidate: str
    baselines: tuple[str, ...]

    @property
    def best_baseline(self) -> str:
        return best_of(self.runs, self.baselines)

    def finals(self, label: str) -> np.ndarray:
        return np.array([r.final_val_accuracy for r in self.runs[label]])

    def speedups(self, label: str | None = None) -> np.ndarray:
        """Per seed: updates the best baseline needs to reach its own final accuracy, divided
        by the updates ``label`` (default: the candidate) needs to reach it (inf: never)."""
        label = label or self.candidate
        out = []
        for base, cand in zip(self.runs[self.best_baseline], self.runs[label], strict=True):
            target = base.final_val_accuracy
            need = iterations_to_reach(cand, target)
            out.append(iterations_to_reach(base, target) / need if need > 0 else np.inf)
        return np.array(out)


def summary_table(c: Comparison) -> pd.DataFrame:
    """One row per variant: final validation accuracy over seeds (median, min, max)."""
    rows = []
    best = c.best_baseline
    for label, runs in c.runs.items():
        acc = np.array([r.final_val_accuracy for r in runs]) * 100
        role = ("taught" if label == c.candidate else "best baseline" if label == best
                else "baseline" if label in c.baselines else "")
        rows.append({"variant": label, "role": role, "median accuracy %": round(float(np.median(acc)), 1),
                     "min %": round(float(acc.min()), 1), "max %": round(float(acc.max()), 1),
                     "seeds": len(runs)})
    return pd.DataFrame(rows)


def accuracy_figure(runs: Mapping[str, Sequence[DigitsRun]], *, highlight: str | None = None):
    """Validation accuracy against updates: the median over seeds, the band min–max."""
    fig = go.Figure()
    for i, (label, rs) in enumerate(runs.items()):
        color = color_for(label, i)  # Welch is Welch-orange in every chart
        x = rs[0].eval_iterations
        acc = np.stack([r.val_accuracy[: len(x)] for r in rs]) * 100
        width = 4 if label == highlight else 2
        if len(rs) > 1:
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]),
                                     y=np.concatenate([acc.max(0), acc.min(0)[::-1]]),
                                     fill="toself", fillcolor=color, opacity=0.15, line_width=0,
                                     hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=x, y=np.median(acc, axis=0), mode="lines", name=label,
                                 line={"color": color, "width": width},
                                 hovertemplate=f"{label}<br>update %{{x}}<br>"
                                               "accuracy %{y:.1f} %<extra></extra>"))
    fig.update_layout(margin={"t": 48},
                      title="Validation accuracy (median over seeds, band: min–max)")
    fig.update_xaxes(title_text="update")
    fig.update_yaxes(title_text="accuracy %")
    return finish(fig, plot_height=300)


def _compare(variants: dict, candidate: str, baselines: Sequence[str], *, num_iter: int,
             seeds: Sequence[int], on_run: Callable | None) -> Comparison:
    runs = train_grid(variants, num_iter=num_iter, seeds=seeds, eval_every=max(num_iter // 20, 1),
                      on_run=on_run)
    return Comparison(runs, candidate, tuple(baselines))


def lr_matters(lr: float, *, num_iter: int = 150, seeds: Sequence[int] = (0, 1),
               on_run: Callable | None = None) -> Comparison:
    """Your fixed LR beside too low (0.001), good (0.1) and too high (1.0)."""
    variants = {"too low 0.001": _fixed(0.001), "good 0.1": _fixed(0.1),
                "too high 1.0": _fixed(1.0), f"yours {lr:g}": _fixed(lr)}
    return _compare(variants, "good 0.1", ("too low 0.001", "too high 1.0"), num_iter=num_iter,
                    seeds=seeds, on_run=on_run)


def clr_vs_fixed(base_lr: float, max_lr: float, *, num_iter: int = 200, step_fraction: float = 0.25,
                 seeds: Sequence[int] = (0, 1, 2), on_run: Callable | None = None) -> Comparison:
    """triangular2 between the bounds against every fixed LR of the grid."""
    label = f"triangular2 {base_lr:g}–{max_lr:g}"
    variants = {label: {"schedule": {"policy": "triangular2", "base_lr": base_lr,
                                     "max_lr": max_lr,
                                     "step_size_up": max(int(num_iter * step_fraction), 1)}},
                **_fixed_grid()}
    return _compare(variants, label, tuple(_fixed_grid()), num_iter=num_iter, seeds=seeds,
                    on_run=on_run)


def one_cycle_vs_fixed(max_lr: float, *, num_iter: int = 200, seeds: Sequence[int] = (0, 1, 2),
                       on_run: Callable | None = None) -> Comparison:
    """Smith's 1cycle (linear, three phases, cyclical momentum 0.95→0.85→0.95) against every
    fixed LR of the grid, all for the same number of updates."""
    label = f"1cycle max {max_lr:g}"
    variants = {label: {"schedule": {"policy": "one_cycle", "max_lr": max_lr,
                                     "total_steps": num_iter, "three_phase": True,
                                     "anneal_strategy": "linear", "div_factor": 10.0,
                                     "final_div_factor": 100.0}},
                **_fixed_grid()}
    return _compare(variants, label, tuple(_fixed_grid()), num_iter=num_iter, seeds=seeds,
                    on_run=on_run)


def windows(base_lr: float, max_lr: float, *, num_iter: int = 200, seeds: Sequence[int] = (0, 1),
            on_run: Callable | None = None) -> Comparison:
    """The triangular, Welch and Hann windows with the same bounds and step."""
    common = {"base_lr": base_lr, "max_lr": max_lr, "step_size_up": max(num_iter // 4, 1)}
    variants = {p: {"schedule": {"policy": p, **common}} for p in ("triangular", "welch", "hann")}
    return _compare(variants, "triangular", ("welch", "hann"), num_iter=num_iter, seeds=seeds,
                    on_run=on_run)


def _regret(value) -> float:
    """A measured regret, or NaN (shown as an empty cell, never the word "None")."""
    return float(value) if value is not None else float("nan")


def range_test_reading(*, num_iter: int = 100, seed: int = 0):
    """The Range test page's default test (same data, model, optimizer, sweep and sharpness
    estimates, so the two pages recommend the same max_lr): (figure, table of every rule's
    pick and measured regret, the result). Regret comes from the suggestion benchmark."""
    config = RangeTestConfig(num_iter=int(num_iter), seed=int(seed),
                             sharpness_every=SHARPNESS_EVERY).to_dict()
    with one_thread():
        result = RangeTestReport.from_dict(
            run_range_test_job(config, no_events, never_stop)).range_test
    picks = {k: s.to_dict() for k, s in result.suggestions.items()}
    regret = measured_regret()
    rows = []
    for name in sorted(picks, key=lambda m: m != RECOMMENDED):  # the recommendation first
        s, r = picks[name], regret.get(name, {})
        rows.append({"rule": name, "origin": rule_label(name), "max_lr": float(f"{s['max_lr']:.3g}"),
                     "base_lr": float(f"{s['base_lr']:.3g}"),
                     "worst regret (points)": _regret(r.get("worst")),
                     "mean regret (points)": _regret(r.get("mean"))})
    fig = range_test_figure(result, summary_of(result, config))
    return fig, pd.DataFrame(rows), result
