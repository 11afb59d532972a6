"""The generated benchmark: how far each range-test rule's peak LR, and the Confirm step's
(``clr_core.suggest.confirm``), land from the best peak of the task's own planned training,
on tasks nobody tuned a rule to.

Tasks come from ``bench/gen_tasks.py`` (one per generator seed; 10 families, drawn
optimizer, schedule, budget and sizes). Two splits: DEVELOPMENT (36 tasks, seeds
1000-1035), where every rule and default was chosen, and TEST (24 tasks, seeds
5000-5023), held out. How the split was kept: the generator was committed (ebf9146), then
the test split's task specs were frozen in ``bench/cache/test-split.json`` (commit 17443fe,
2026-12-07 15:16 UTC) before anything was computed on it; ``gen_cache.tasks("test")``
refuses to run if the generator draws anything else. Confirm's defaults were chosen on dev
and committed (192342e, 15:56 UTC) before the test grids were computed (15:56-16:08 UTC);
the test split chose nothing (docs/benchmarks-generated.md has both tables).

Per task: a grid of >= 12 peaks (thirds of a decade; extended past an edge the best lands
on) x 2 training seeds, the task's own schedule and budget; score = final validation loss,
or accuracy for a classifier (tolerance 1 point / 2 % of the loss). Regret against the
cross-fitted optimum (the grid's best picked on one seed, scored on the other, both ways
round: free of the best-of-N winner's curse), as ``bench/suggestions.py``. A rule's peak is
the median over 3 range tests (the README's call: 1e-7 to 10, 100 steps, exp); its score is
the grid's per-seed scores interpolated in log LR; a peak outside the grid is scored at
the grid's edge (the grid spans 3.7+ decades around the optimum, extended past an edge the
best landed on, so this understates a far-off rule's regret: a lower bound). Confirm trains on seed 2 (never a scoring seed), at peaks snapped to the lattice
(at most 1/6 decade off), and is scored at its pick on seeds 0 and 1.

    python -m bench.gen_grids --split dev [--rebuild]   # fill the cache (grids, range tests)
    python -m bench.gen_bench --split dev               # the tables (trains what is missing)
    python -m bench.gen_bench --quick                   # the slice the test suite runs
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from clr_core.suggest import recommend, registry
from clr_core.suggest.confirm import (
    AGREE_FACTOR,
    BRACKET,
    HORIZON_EXPONENT,
    agrees,
    plan_confirmation,
    run_confirmation,
)
from clr_core.suggest.registry import suggest_all
from clr_core.suggest.schedule_fit import for_schedule
from clr_core.suggest.types import REGRET_FILE

try:  # run as ``python -m bench.gen_bench`` or loaded from its file by the tests
    from bench.gen_cache import GRID_SEEDS, HELD_OUT, SPLITS, Cache, k_of, tasks
    from bench.gen_models import RANGE, schedule_dict
except ImportError:  # pragma: no cover - loaded as a sibling script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gen_cache import GRID_SEEDS, HELD_OUT, SPLITS, Cache, k_of, tasks  # type: ignore[no-redef]  # noqa: E501
    from gen_models import RANGE, schedule_dict  # type: ignore[no-redef]

CONFIRM_SEED = 2
#: ``recommended`` as it was until 2026-12-07 (the two-reading middle), reported beside it.
BEFORE = "recommended_before"
LOSS_TOL, ACC_TOL = 2.0, 1.0
#: Confirm settings compared on dev: name -> (trainings, bracket, horizon exponent, widen
#: by recommended[, choose on the validation loss[, rounds[, ties]]]) (rounds, ties:
#: `plan_confirmation`'s; left out: today's defaults, so a row that leaves them out reads
#: differently once they change: docs/benchmarks-generated.md has each round's figures as
#: they were). "confirm-N" rows: the defaults at N trainings.
DEFAULT_CONFIRM = "confirm-4"  # the product's default cost
CONFIRM = {**{f"confirm-{c:g}": (c, BRACKET, HORIZON_EXPONENT, False) for c in (1, 2, 3, 4, 6)},
           # the 4-training default until 2026-12-08 (halving 8 -> 3 -> 2, low ties), beside it
           "confirm-4-before": (4, BRACKET, HORIZON_EXPONENT, False, False,
                                ((8, 1 / 8), (3, 1 / 3), (2, 1.0, 1 / 3)), "low")}
#: What was compared on the development split only (``--explore``; refused on test).
EXPLORE = {**CONFIRM,
           **{f"c{c}-h{a:g}": (c, (1 / 100, 2.0), a, False) for c in (1, 2) for a in (0.25, 0.5)},
           "c2-byloss": (2, (1 / 100, 2.0), 0.0, False, True),
           "c4-sqrt10": (4, (1 / 100, 2.0), 0.0, False, False,
                         ((8, 1 / 8), (3, 1 / 3), (2, 1.0, 0.5))),
           "c3-sqrt10": (3, (1 / 100, 2.0), 0.0, False, False,
                         ((8, 1 / 8), (3, 1 / 3), (2, 0.5, 0.5))),
           "c6-below": (6, (1 / 100, 2.0), 0.0, False, False,
                        ((8, 1 / 8), (3, 1 / 3), (4, 1.0, 0.5))),
           "c5-pm": (5, (1 / 100, 2.0), 0.0, False, False,
                     ((8, 1 / 8), (3, 1 / 3), (3, 1.0, 1 / 3, 1))),
           # second round (dev + dev2): TEST2's misses were plain CNNs (a 1/8 round too short
           # to learn) and regressions whose candidates all sat decades under the best
           "c4-widen": (4, BRACKET, 0.0, True),
           "c4-wide": (4, (1 / 1000, 2.0), 0.0, False),
           "c4-6x": (4, BRACKET, 0.0, False, False, ((6, 1 / 6), (3, 1 / 3), (2, 1.0, 1 / 3))),
           "c4-6x-widen": (4, BRACKET, 0.0, True, False,
                           ((6, 1 / 6), (3, 1 / 3), (2, 1.0, 1 / 3))),
           "c4-4x": (4, BRACKET, 0.0, False, False, ((4, 1 / 4), (2, 1 / 2), (2, 1.0, 1 / 3))),
           # third round (dev + dev2, issue 31): equal scores (a round where nothing learned,
           # every plain-CNN trial at chance) rank from the bracket's middle, not its lowest
           # peak; a last round of 3 at the full budget (above, at and under the pick) after
           # one short round (a parabola through that round's 3 scores was tried, 72d0aab:
           # inside the trained peaks it is the best trial again, one step past them it
           # lost 4 points of share and once picked a diverging peak)
           **{f"c4-{n}": (4, BRACKET, 0.0, False, False, r, "middle")
              for n, r in (("mid", ((8, 1 / 8), (3, 1 / 3), (2, 1.0, 1 / 3))),
                           ("6x-mid", ((6, 1 / 6), (3, 1 / 3), (2, 1.0, 1 / 3))),
                           ("4x-mid", ((4, 1 / 4), (2, 1 / 2), (2, 1.0, 1 / 3))))},
           "c4-8-3f1": (4, BRACKET, 0.0, False, False, ((8, 1 / 8), (3, 1.0, 1 / 3, 1))),
           "c4-6-3f1": (4, BRACKET, 0.0, False, False, ((6, 1 / 6), (3, 1.0, 1 / 3, 1))),
           **{f"c4-{n}-3f{a}-mid": (4, BRACKET, 0.0, False, False,
                                    ((n, 1 / n), (3, 1.0, 1 / 3, a)), "middle")
              for n, a in ((8, 1), (8, 0), (7, 1), (6, 1), (6, 0), (6, 2), (5, 1), (4, 1))},
           "c4-6-3f1-mid-widen": (4, BRACKET, 0.0, True, False,
                                  ((6, 1 / 6), (3, 1.0, 1 / 3, 1)), "middle"),
           "c4-6-3f1-mid-byloss": (4, BRACKET, 0.0, False, True,
                                   ((6, 1 / 6), (3, 1.0, 1 / 3, 1)), "middle"),
           **{f"c4-6-3f1-mid-b{1 / lo:g}-{hi:g}": (4, (lo, hi), 0.0, False, False,
                                                   ((6, 1 / 6), (3, 1.0, 1 / 3, 1)), "middle")
              for lo, hi in ((1 / 100, 4.0), (1 / 30, 2.0), (1 / 300, 2.0), (1 / 30, 4.0))},
           # fourth round (dev + dev2): the other costs with middle ties, and the same shape
           # (one short round, then trainings around its pick) at 1, 2, 3 and 6
           **{f"c{c:g}-mid": (c, BRACKET, 0.0, False, False, r, "middle")
              for c, r in ((1, ((8, 1 / 8),)), (2, ((8, 1 / 8), (3, 1 / 3))),
                           (3, ((8, 1 / 8), (3, 1 / 3), (2, 1 / 2, 1 / 3))),
                           (6, ((8, 1 / 8), (3, 1 / 3), (4, 1.0, 1 / 3, 1))))},
           **{name: (c, BRACKET, 0.0, False, False, r, "middle") for name, c, r in (
               ("c1-6-mid", 1, ((6, 1 / 6),)),
               ("c2-6-2h1-mid", 2, ((6, 1 / 6), (2, 1 / 2, 1 / 3, 1))),
               ("c2-6-2h0-mid", 2, ((6, 1 / 6), (2, 1 / 2, 1 / 3, 0))),
               ("c2-6-3t1-mid", 2, ((6, 1 / 6), (3, 1 / 3, 1 / 3, 1))),
               ("c3-6-2f1-mid", 3, ((6, 1 / 6), (2, 1.0, 1 / 3, 1))),
               ("c3-6-2f0-mid", 3, ((6, 1 / 6), (2, 1.0, 1 / 3, 0))),
               ("c3-6-4h1-mid", 3, ((6, 1 / 6), (4, 1 / 2, 1 / 3, 1))),
               ("c6-6-5f2-mid", 6, ((6, 1 / 6), (5, 1.0, 1 / 3, 2))),
               ("c5-8-3t-3f1-mid", 5, ((8, 1 / 8), (3, 1 / 3), (3, 1.0, 1 / 3, 1))))},
}


def regret(task, best: float, reached: float) -> float:
    """Points of accuracy below ``best``, or % above the best validation loss."""
    if task.metric == "loss":
        return 100.0 * (reached - best) / best
    return best - reached


def cross_fitted(task, per: dict[int, list[float]]) -> float:
    better = min if task.metric == "loss" else max
    n = len(next(iter(per.values())))
    if n < 2:
        return better(float(np.mean(v)) for v in per.values())
    out = []
    for fit, held in ((0, 1), (1, 0)):
        k = better(per, key=lambda kk, f=fit: per[kk][f])
        out.append(per[k][held])
    return float(np.mean(out))


def at_lr(cache: Cache, task, log_lr: float, seeds, known: dict, *, extend: bool = True
          ) -> list[float]:
    """Per-seed scores at ``10 ** log_lr``, interpolated in log LR between lattice points
    (missing ones trained; at most 2 decades past the grid; ``extend`` False: clamped to it)."""
    ks = sorted(known)
    pad = 6 if extend else 0
    x = float(np.clip(3 * log_lr, ks[0] - pad, ks[-1] + pad))
    lo, hi = math.floor(x), math.ceil(x)
    for k in {lo, hi}:
        if k not in known:
            known[k] = [cache.score(task, k, 1.0, s) for s in seeds]
    w = x - lo
    return [(1 - w) * a + w * b for a, b in zip(known[lo], known[hi], strict=True)]


def median_curve(curves: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(c["lrs"]) for c in curves)
    lrs = np.asarray(curves[0]["lrs"][:n], float)
    sm = np.array([[np.nan if v is None else v for v in c["smoothed"][:n]] for c in curves])
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(np.isfinite(sm), sm, np.nan), axis=0) \
            if np.isfinite(sm).any() else np.full(n, np.nan)
    return lrs, med


@contextmanager
def rule_before_2026_12_07():
    """``recommended`` as it was when this comparison began (the two-reading middle, no
    median, no flat-sweep rule): the candidates are built on it, as they were chosen."""
    saved = recommend.MEDIAN_OF, registry.flat_sweep_end
    recommend.MEDIAN_OF, registry.flat_sweep_end = (recommend.RECOMMENDED,), lambda *a: None
    try:
        yield
    finally:
        recommend.MEDIAN_OF, registry.flat_sweep_end = saved


def rules_for(task, curves: list[dict]) -> tuple[dict[str, float], dict]:
    """Each rule's median log10 max_lr over the range tests, and recommended's details."""
    per: dict[str, list[float]] = {}
    conf = []
    family = "adam" if task.adaptive else "gd"
    for c in curves:
        lrs = np.asarray(c["lrs"], float)
        sm = np.array([np.nan if v is None else v for v in c["smoothed"]])
        out = suggest_all(lrs, sm, num_iter=RANGE["num_iter"], smooth_beta=0.98,
                          stop_reason=c["stop_reason"], family=family)
        if "recommended" in out:  # the planned schedule is an input, as on the page
            out["recommended"] = for_schedule(out["recommended"],
                                              schedule_dict(task, task.budget))
            conf.append(out["recommended"].confidence)
        for name, s in out.items():
            per.setdefault(name, []).append(math.log10(s.max_lr))
        with rule_before_2026_12_07():  # reported beside it: what the rule was before
            before = suggest_all(lrs, sm, num_iter=RANGE["num_iter"], smooth_beta=0.98,
                                 stop_reason=c["stop_reason"], family=family)
        if "recommended" in before:
            fitted = for_schedule(before["recommended"], schedule_dict(task, task.budget))
            per.setdefault(BEFORE, []).append(math.log10(fitted.max_lr))
    logs = {n: float(np.median(v)) for n, v in per.items()}
    rec = {"confidence": conf, "ok": sum(c == "ok" for c in conf) >= 2,
           "spread": float(np.ptp(per["recommended"])) if "recommended" in per else math.nan,
           "rules_spread": float(np.ptp([np.median(v) for v in per.values()])) if per
           else math.nan, "adaptive": task.adaptive, "schedule": task.schedule,
           "seed_spreads": {n: float(np.ptp(v)) for n, v in per.items()}}
    return logs, rec


def confirm_for(cache: Cache, task, curves, setting, rec_log: float | None
                ) -> tuple[float, float, float]:
    """Confirm's pick on the lattice (log10, where it was scored), its cost and the peak it
    picked as the product would report it."""
    trainings, bracket, exponent, widen = setting[:4]
    by_loss = len(setting) > 4 and setting[4]  # choose on the validation loss, not accuracy
    rounds = setting[5] if len(setting) > 5 else None  # a preset's rounds, replaced
    # how equal scores rank (a row without it: the product's default, as rounds are)
    ties = {"ties": setting[6]} if len(setting) > 6 else {}
    lrs, med = median_curve(curves)
    rec = 10 ** rec_log if widen and rec_log is not None else None
    plan = plan_confirmation(lrs, med, trainings=trainings, recommended=rec, bracket=bracket,
                             horizon_exponent=exponent, rounds=rounds, **ties)
    sign = 1.0 if task.metric == "loss" else -1.0

    def train_at(peak: float, fraction: float, seed: int) -> float:
        run = cache.run(task, k_of(peak), fraction, seed)
        return run[1] if by_loss else sign * run[0]

    res = run_confirmation(plan, train_at, seed=CONFIRM_SEED)
    trained = any(t.peak == res.best_peak for t in res.trials)  # scored where it trained
    lg = k_of(res.best_peak) / 3 if trained else math.log10(res.best_peak)
    return lg, res.cost_in_trainings, res.best_peak


def measure(cache: Cache, task, *, quick: bool = False, confirm=None) -> dict:
    seeds = (0,) if quick else GRID_SEEDS
    if quick:
        per = cache.grid(task, seeds=seeds, ks=task.grid_k()[3:9:2], extend=False)
    else:
        per = cache.grid(task)
    curves = cache.curves(task)[:1] if quick else cache.curves(task)
    known = dict(per)
    mean = {k: float(np.mean(v)) for k, v in per.items()}
    better = min if task.metric == "loss" else max
    best_k = better(mean, key=mean.get)
    fair = cross_fitted(task, per)
    tol = LOSS_TOL if task.metric == "loss" else ACC_TOL
    logs, rec = rules_for(task, curves)
    pick = 10 ** logs["recommended"] if "recommended" in logs else None
    for name, setting in (confirm or CONFIRM).items():
        logs[name], cost, peak = confirm_for(cache, task, curves, setting, logs.get("recommended"))
        rec[f"cost:{name}"] = cost
        rec[f"agree:{name}"] = agrees(peak, pick)  # as the page says it (None: nothing to say)
    methods = {}
    for name, lg in logs.items():
        scores = at_lr(cache, task, lg, seeds, known, extend=False)
        reached = float(np.mean(scores))
        d = [regret(task, a, b) for a, b in zip(per[best_k], scores, strict=True)]
        methods[name] = {"log_lr": lg, "score": reached, "regret": regret(task, fair, reached),
                         "within": regret(task, fair, reached) <= tol,
                         "seed_se": float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1
                         else math.nan}
    return {"task": task.name, "family": task.family, "metric": task.metric,
            "best_log_lr": best_k / 3, "best": mean[best_k], "fair_best": fair,
            "recommended": rec, "methods": methods}


def summarise(reports: list[dict]) -> dict:
    names = [m for m in reports[0]["methods"]]
    out = {}
    for m in names:
        rows = [(r["metric"], r["methods"][m]) for r in reports if m in r["methods"]]
        n = len(rows)
        share = float(np.mean([row["within"] for _, row in rows]))
        s = {"n": n, "share": share, "share_se": math.sqrt(share * (1 - share) / n)}
        for metric in ("acc", "loss"):
            reg = np.array([row["regret"] for mt, row in rows if mt == metric])
            if reg.size:
                s[f"{metric}_worst"] = float(reg.max())
                s[f"{metric}_mean"] = float(reg.mean())
                s[f"{metric}_mean_se"] = float(reg.std(ddof=1) / math.sqrt(reg.size)) \
                    if reg.size > 1 else math.nan
                s[f"{metric}_n"] = int(reg.size)
        costs = [r["recommended"].get(f"cost:{m}") for r in reports]
        if costs[0] is not None:
            s["cost"] = float(np.mean(costs))
        out[m] = s
    return out


def regret_file(summary: dict, reports: list[dict], split: str) -> dict:
    """Each sweep rule's regret on ``split`` as the package ships it
    (`clr_core.suggest.types.measured_regret`: the pages' and the lessons' "worst / mean
    regret (points)"): accuracy tasks in points, the loss tasks' % beside it, the share within
    tolerance, and the median spread of the rule's pick across the range-test seeds."""
    methods = {}
    for name, s in summary.items():
        if "cost" in s or "acc_worst" not in s or name == BEFORE:
            continue  # Confirm rows are not a sweep's rule; the old rule is not shipped
        spreads = [r["recommended"]["seed_spreads"][name] for r in reports
                   if name in r["recommended"].get("seed_spreads", {})]
        methods[name] = {"worst": round(s["acc_worst"], 3), "mean": round(s["acc_mean"], 3),
                         "mean_se": round(s["acc_mean_se"], 3), "tasks": s["acc_n"],
                         "loss_worst_pct": round(s.get("loss_worst", math.nan), 2),
                         "loss_mean_pct": round(s.get("loss_mean", math.nan), 2),
                         "within": round(s["share"], 3), "n": s["n"],
                         "spread": round(float(np.median(spreads)), 3) if spreads else 0.0}
    def rounded(figures: dict) -> dict:
        return {what: {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}
                for what, d in figures.items()}

    confidence = rounded(confidence_figures(reports, DEFAULT_CONFIRM))
    # each cost's own agreement figures, for a confirmation run at that cost
    confidence["by_cost"] = {f"{CONFIRM[name][0]:g}": rounded(confidence_figures(reports, name))
                             for name in CONFIRM if name.startswith("confirm-")
                             and name.removeprefix("confirm-").isdigit()}
    return {"source": f"bench/gen_bench.py --split {split} (held-out generated tasks; "
                      "docs/benchmarks-generated.md)", "methods": methods,
            "confidence": confidence}


def confidence_figures(reports: list[dict], name: str = "") -> dict[str, dict]:
    """What a confidence meant on these tasks: "ok", the tasks where ``recommended`` said
    "ok" (2+ of 3 seeds) and the share of them within tolerance; "agree" / "disagree", the
    tasks where Confirm ``name`` landed within `AGREE_FACTOR` of ``recommended`` or not, with
    the share within tolerance of Confirm's pick ("within") and of recommended's."""
    def share(rows: list[dict], method: str) -> tuple[float, float]:
        w = float(np.mean([r["methods"][method]["within"] for r in rows]))
        return w, math.sqrt(w * (1 - w) / len(rows))

    out = {}
    ok = [r for r in reports if r["recommended"].get("ok")]
    if ok:
        w, se = share(ok, "recommended")
        out["ok"] = {"n": len(ok), "of": len(reports), "within": w, "within_se": se}
    for what, flag in (("agree", True), ("disagree", False)):
        rows = [r for r in reports if name and r["recommended"].get(f"agree:{name}") is flag]
        if rows:
            w, se = share(rows, name)
            out[what] = {"n": len(rows), "of": len(reports), "within": w, "within_se": se,
                         "sweep_within": share(rows, "recommended")[0]}
    return out


def print_summary(summary: dict, reports: list[dict], title: str) -> None:
    print(f"\n=== {title}: {len(reports)} tasks ===")
    print(f"{'method':<16} {'n':>3} {'within tol':>12} {'acc worst':>9} {'acc mean ± se':>15} "
          f"{'loss% worst':>11} {'loss% mean ± se':>16} {'cost':>5}")
    for m, s in summary.items():
        acc = (f"{s.get('acc_worst', math.nan):>9.2f} {s.get('acc_mean', math.nan):>7.2f} ± "
               f"{s.get('acc_mean_se', math.nan):<5.2f}")
        loss = (f"{s.get('loss_worst', math.nan):>11.2f} {s.get('loss_mean', math.nan):>8.2f} ± "
                f"{s.get('loss_mean_se', math.nan):<5.2f}")
        cost = f"{s['cost']:>5.2f}" if "cost" in s else f"{'':>5}"
        print(f"{m:<16} {s['n']:>3} {100 * s['share']:>5.0f}% ± {100 * s['share_se']:>3.0f} "
              f"{acc} {loss} {cost}")
    for name in [m for m in summary if "cost" in summary[m]]:
        fig = confidence_figures(reports, name)
        for what, d in fig.items():
            if what == "ok" and name != DEFAULT_CONFIRM:
                continue  # the sweep's own: printed once
            label = {"ok": "recommended says 'ok' (2+ of 3 seeds)",
                     "agree": f"{name} agrees with recommended (within {AGREE_FACTOR:g}x)",
                     "disagree": f"{name} disagrees with recommended"}[what]
            print(f"{label}: {d['n']}/{d['of']} tasks; within tolerance on "
                  f"{100 * d['within']:.0f}% ± {100 * d['within_se']:.0f} of those"
                  + (f" (recommended on {100 * d['sweep_within']:.0f}%)" if what != "ok" else ""))
    print("regret against the cross-fitted optimum; acc: points below it, loss%: % above its "
          "validation loss; tolerance 1 point / 2 %; se: share's binomial, mean's over tasks; "
          "cost: trainings of the planned budget")


def print_tasks(reports: list[dict], names: list[str]) -> None:
    print(f"{'task':<52} {'best':>5} " + " ".join(f"{n[:9]:>9}" for n in names))
    for r in reports:
        cells = [f"{r['methods'][n]['regret']:>5.1f}{'*' if r['methods'][n]['within'] else ' '}"
                 f"{r['methods'][n]['log_lr'] - r['best_log_lr']:+.1f}"[:9].rjust(9)
                 if n in r["methods"] else f"{'--':>9}" for n in names]
        print(f"{r['task'][:52]:<52} {r['best_log_lr']:>5.2f} " + " ".join(cells))
    print("cell: regret, * within tolerance, then decades from the grid's best peak")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="dev",
                    help=f"one of {', '.join(SPLITS)}, or several joined by + (one table)")
    ap.add_argument("--quick", action="store_true", help="2 tiny tasks, 3 peaks, 1 seed")
    ap.add_argument("--cache", default="", help="cache file (default bench/cache/gen-<split>.json)")
    ap.add_argument("--json", default="", help="write the reports and summary here")
    ap.add_argument("--tasks", action="store_true", help="print the per-task table")
    ap.add_argument("--explore", action="store_true", help="every Confirm variant (dev only)")
    ap.add_argument("--regret-file", action="store_true",
                    help="write the rules' regret on this split to clr_core/suggest/"
                         "suggestion_regret.json (what the pages and lessons show)")
    a = ap.parse_args(argv)
    splits = ["quick"] if a.quick else a.split.split("+")
    if unknown := [sp for sp in splits if sp not in (*SPLITS, "quick")]:
        print(f"unknown split {unknown}; known: {', '.join(SPLITS)}", file=sys.stderr)
        return 2
    if a.explore and (any(sp in HELD_OUT for sp in splits) or a.quick):
        print("--explore compares variants on the development split only", file=sys.stderr)
        return 2
    split = "+".join(splits)
    t0 = time.perf_counter()
    confirm = {"confirm-1": CONFIRM["confirm-1"]} if a.quick else EXPLORE if a.explore else None
    reports, trained, seconds = [], 0.0, 0.0
    for sp in splits:
        cache = Cache(sp, Path(a.cache) if a.cache else None)
        todo = tasks(sp)[:2] if a.quick else tasks(sp)
        reports += [measure(cache, t, quick=a.quick, confirm=confirm) for t in todo]
        cache.save()
        trained, seconds = trained + cache.trained, seconds + cache.seconds
    summary = summarise(reports)
    if a.tasks:
        print_tasks(reports, list(summary))
    print_summary(summary, reports, f"generated benchmark, {split} split")
    print(f"{time.perf_counter() - t0:.0f} s; {trained:.1f} new trainings ({seconds:.0f} s)")
    if a.regret_file:
        out = Path(__file__).resolve().parent.parent / "clr_core" / "suggest" / REGRET_FILE
        out.write_text(json.dumps(regret_file(summary, reports, split), indent=1) + "\n")
    if a.json:
        Path(a.json).write_text(json.dumps({"summary": summary, "tasks": reports,
                                            "trained": trained}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
