"""Sweep-only rules compared on the development split (dev + dev2: 100 tasks), and the
choice among them cross-validated by family. Refused on a held-out split: nothing is
chosen there.

Every candidate is a function of what one range test shows (its rules' peaks, whether its
loss fell at all, the last LR it reached) and of what the user tells the page (the planned
budget and schedule, the optimizer's family): nothing a held-out task's grid knows. Each is
the median over the task's 3 range tests, scored on the cached grid as ``gen_bench`` scores
a rule (interpolated in log LR, clamped to the grid: no training).

Leave-one-family-out: for each of the 10 families, the candidate with the best (share within
tolerance, then mean normalised regret) on the other 9 is applied to the held-out family;
the held-out results, summed, estimate how the choice generalises to a family it was not
chosen on.

    python -m bench.gen_rules                # dev + dev2
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from clr_core.suggest.registry import suggest_all
from clr_core.suggest.schedule_fit import for_schedule
from clr_core.suggest.types import flat_sweep_end

try:
    from bench.gen_bench import (
        ACC_TOL,
        LOSS_TOL,
        at_lr,
        cross_fitted,
        regret,
        rule_before_2026_12_07,
    )
    from bench.gen_cache import HELD_OUT, Cache, tasks
    from bench.gen_models import RANGE, schedule_dict
except ImportError:  # pragma: no cover - loaded as a sibling script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gen_bench import ACC_TOL, LOSS_TOL, at_lr, cross_fitted, regret, rule_before_2026_12_07  # type: ignore
    from gen_cache import HELD_OUT, Cache, tasks  # type: ignore[no-redef]
    from gen_models import RANGE, schedule_dict  # type: ignore[no-redef]

PEERS = ("valley", "steep", "minimum", "slide", "steepest_gradient")


def sweep_facts(task, curve: dict) -> dict:
    """One range test's rules (log10 max_lr) and what the curve itself shows."""
    lrs = np.asarray(curve["lrs"], float)
    sm = np.array([np.nan if v is None else v for v in curve["smoothed"]])
    kw = {"num_iter": RANGE["num_iter"], "smooth_beta": 0.98, "stop_reason": curve["stop_reason"],
          "family": "adam" if task.adaptive else "gd"}
    shipped = suggest_all(lrs, sm, **kw).get("recommended")
    with rule_before_2026_12_07():
        out = suggest_all(lrs, sm, **kw)
    raw = out.get("recommended")
    factor = 1.0
    if raw is not None:
        out["recommended"] = for_schedule(raw, schedule_dict(task, task.budget))
        factor = out["recommended"].max_lr / raw.max_lr
    ok = np.isfinite(sm)
    y = sm[ok]
    flat = flat_sweep_end(lrs, sm) is not None
    if shipped is not None:
        out["shipped"] = for_schedule(shipped, schedule_dict(task, task.budget))
    return {"rules": {n: math.log10(s.max_lr) for n, s in out.items()},
            "core": None if raw is None else math.log10(raw.max_lr),
            "fit": math.log10(factor),
            "flat": flat, "last": math.log10(float(lrs[ok][-1])) if ok.any() else math.nan,
            "min_lr": math.log10(float(lrs[ok][np.argmin(y)])) if y.size else math.nan}


def _median_of(rules: dict, names) -> float | None:
    v = [rules[n] for n in names if n in rules]
    return float(np.median(v)) if v else None


def candidates(task, facts: dict) -> dict[str, float | None]:
    """Every candidate's log10 peak for one range test."""
    r = facts["rules"]
    out: dict[str, float | None] = {n: r.get(n) for n in ("shipped", "recommended", *PEERS)}
    out["median3"] = _median_of(r, ("recommended", "minimum", "steep"))
    out["median_peers"] = _median_of(r, PEERS)
    out["median_all"] = _median_of(r, ("recommended", *PEERS))
    if "recommended" in r and "minimum" in r:
        out["geo_rec_min"] = (r["recommended"] + r["minimum"]) / 2
    horizon = math.log10(task.budget / RANGE["num_iter"])
    for base in ("recommended", "minimum", "median3"):
        b = out.get(base)
        for a in (0.1, 0.2, 0.3):
            out[f"{base}-h{a:g}"] = None if b is None else b - a * horizon
        for c in (1.0, 1.5, 2.0, 2.5, 3.0):  # a flat sweep: under the last LR it reached
            out[f"{base}-flat{c:g}"] = (facts["last"] - c) if facts["flat"] else b
    # implementable as one rule: the median of the unfitted readings, then moved to the
    # planned schedule (``for_schedule``) as the page moves ``recommended``
    raw = {**r, "recommended": facts["core"]} if facts["core"] is not None else \
        {n: v for n, v in r.items() if n != "recommended"}
    m = _median_of(raw, ("recommended", "minimum", "steep"))
    if m is not None:
        out["m3fit"] = m + facts["fit"]
        out["m3raw"] = m
    for c in (1.5, 2.0, 2.5):  # a flat sweep has no reading: under the last LR it reached
        out[f"m3fit-flat{c:g}"] = (facts["last"] - c + facts["fit"]) if facts["flat"] \
            else out.get("m3fit")
    return out


def task_rows(cache: Cache, task) -> dict:
    per = cache.grid(task)
    known = dict(per)
    seeds = tuple(range(len(next(iter(per.values())))))
    fair = cross_fitted(task, per)
    mean = {k: float(np.mean(v)) for k, v in per.items()}
    best_k = (min if task.metric == "loss" else max)(mean, key=mean.get)
    facts = [sweep_facts(task, c) for c in cache.curves(task)]
    per_sweep = [candidates(task, f) for f in facts]
    tol = LOSS_TOL if task.metric == "loss" else ACC_TOL
    rows = {}
    for name in per_sweep[0]:
        v = [p[name] for p in per_sweep if p.get(name) is not None]
        if not v:
            continue
        lg = float(np.median(v))
        reached = float(np.mean(at_lr(cache, task, lg, seeds, known, extend=False)))
        g = regret(task, fair, reached)
        rows[name] = {"log_lr": lg, "regret": g, "norm": g / tol, "within": g <= tol,
                      "off": lg - best_k / 3}
    return {"task": task.name, "family": task.family, "metric": task.metric,
            "flat": sum(f["flat"] for f in facts) >= 2, "rows": rows}


def summary(reports: list[dict], name: str) -> dict:
    rows = [r["rows"][name] for r in reports if name in r["rows"]]
    n = len(rows)
    if not n:
        return {"n": 0}
    share = float(np.mean([x["within"] for x in rows]))
    norm = np.array([x["norm"] for x in rows])
    out = {"n": n, "share": share, "se": math.sqrt(share * (1 - share) / n),
           "mean_norm": float(norm.mean()), "worst_norm": float(norm.max())}
    for metric, key in (("acc", "acc"), ("loss", "loss")):
        reg = np.array([r["rows"][name]["regret"] for r in reports
                        if name in r["rows"] and r["metric"] == metric])
        if reg.size:
            out[f"{key}_worst"] = float(reg.max())
            out[f"{key}_mean"] = float(reg.mean())
            out[f"{key}_se"] = float(reg.std(ddof=1) / math.sqrt(reg.size)) if reg.size > 1 \
                else math.nan
    return out


def key(s: dict) -> tuple:
    """Higher is better: the share within tolerance, then the mean normalised regret."""
    return (round(s.get("share", -1), 6), -s.get("mean_norm", math.inf)) if s["n"] else (-1,)


def lofo(reports: list[dict], names: list[str]) -> dict:
    fams = sorted({r["family"] for r in reports})
    chosen, held = {}, []
    for f in fams:
        train = [r for r in reports if r["family"] != f]
        best = max(names, key=lambda n: key(summary(train, n)))
        chosen[f] = best
        held += [{**r, "rows": {"cv": r["rows"][best]}} for r in reports
                 if r["family"] == f and best in r["rows"]]
    return {"chosen": chosen, "summary": summary(held, "cv")}


def print_table(reports: list[dict], names: list[str]) -> None:
    print(f"{'rule':<22} {'n':>3} {'within (± se)':>14} {'acc worst / mean ± se':>24} "
          f"{'loss% worst / mean ± se':>26} {'norm mean / worst':>18}")
    for n in names:
        s = summary(reports, n)
        if not s["n"]:
            continue
        print(f"{n:<22} {s['n']:>3} {100 * s['share']:>6.0f} % ± {100 * s['se']:>2.0f} "
              f"{s.get('acc_worst', math.nan):>8.1f} / {s.get('acc_mean', math.nan):>5.1f} ± "
              f"{s.get('acc_se', math.nan):<5.1f} {s.get('loss_worst', math.nan):>9.1f} / "
              f"{s.get('loss_mean', math.nan):>6.1f} ± {s.get('loss_se', math.nan):<6.1f} "
              f"{s['mean_norm']:>7.1f} / {s['worst_norm']:>7.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", default="dev,dev2")
    ap.add_argument("--tasks", action="store_true")
    ap.add_argument("--among", default="", help="choose among these rules only (comma list)")
    a = ap.parse_args(argv)
    splits = a.splits.split(",")
    if any(s in HELD_OUT for s in splits):
        print("gen_rules chooses among rules: development splits only", file=sys.stderr)
        return 2
    reports = []
    for split in splits:
        cache = Cache(split)
        reports += [task_rows(cache, t) for t in tasks(split) if t.name in cache.data]
    names = list(reports[0]["rows"])
    print(f"=== sweep-only rules on {'+'.join(splits)}: {len(reports)} tasks "
          f"({sum(r['flat'] for r in reports)} flat sweeps) ===")
    print_table(reports, names)
    cv = lofo(reports, a.among.split(",") if a.among else names)
    s = cv["summary"]
    print(f"\nleave-one-family-out choice: {cv['chosen']}")
    print(f"held-out families: within {100 * s['share']:.0f} % ± {100 * s['se']:.0f} of "
          f"{s['n']}; acc worst {s.get('acc_worst', math.nan):.1f}, loss% worst "
          f"{s.get('loss_worst', math.nan):.1f}")
    if a.tasks:
        for r in reports:
            print(r["task"][:48].ljust(48), " ".join(
                f"{n[:6]}:{r['rows'][n]['off']:+.1f}{'*' if r['rows'][n]['within'] else ' '}"
                for n in ("recommended", "minimum", "steep", "median3") if n in r["rows"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
