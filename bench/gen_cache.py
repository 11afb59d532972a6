"""The generated benchmark's splits and its on-disk cache of trainings.

Every training the bench ever runs is stored under ``bench/cache/gen-<split>.json``, keyed
by task, peak (on a lattice of thirds of a decade: peak = 10 ** (k / 3)), fraction of the
budget and seed, so a rerun costs only what is new. The test split's task list is frozen
in ``bench/cache/test-split.json`` (the specs the generator drew when it was committed);
``tasks("test")`` refuses to run if the generator now draws anything else.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

try:  # run as ``python -m bench.gen_bench`` or loaded from its file by the tests
    from bench.gen_models import range_curve, train
    from bench.gen_tasks import Task, draw_task
except ImportError:  # pragma: no cover - loaded as a sibling script
    from gen_models import range_curve, train  # type: ignore[no-redef]
    from gen_tasks import Task, draw_task  # type: ignore[no-redef]

CACHE_DIR = Path(__file__).resolve().parent / "cache"
DEV_SEEDS = tuple(range(1000, 1036))  # 36 development tasks: rules are chosen here
TEST_SEEDS = tuple(range(5000, 5024))  # 24 held-out tasks: never used to choose anything
QUICK_SEEDS = (1006, 1007, 1009)  # tabular MLP, autoencoder, sorting: the cheapest
GRID_SEEDS = (0, 1)  # training seeds of the grid (and of every score)
RANGE_SEEDS = (0, 1, 2)
FROZEN = CACHE_DIR / "test-split.json"


class SplitChanged(RuntimeError):
    """The generator no longer draws the frozen test split."""


def tasks(split: str) -> list[Task]:
    if split == "quick":
        return [draw_task(s) for s in QUICK_SEEDS]
    if split == "dev":
        return [draw_task(s) for s in DEV_SEEDS]
    drawn = [draw_task(s) for s in TEST_SEEDS]
    if FROZEN.exists():
        frozen = json.loads(FROZEN.read_text())["tasks"]
        if frozen != [t.to_dict() for t in drawn]:
            raise SplitChanged("the generator draws a different test split than the frozen "
                               f"one in {FROZEN}; restore the generator")
    return drawn


def freeze_test_split() -> None:
    drawn = [draw_task(s).to_dict() for s in TEST_SEEDS]
    FROZEN.write_text(json.dumps({"seeds": list(TEST_SEEDS), "tasks": drawn}, indent=1) + "\n")


def peak_of(k: int) -> float:
    return 10.0 ** (k / 3)


def k_of(peak: float) -> int:
    """The nearest lattice point (thirds of a decade) to ``peak``."""
    return int(round(3 * math.log10(peak)))


class Cache:
    """The trainings of one split, on disk; ``score`` trains what is missing."""

    def __init__(self, split: str, path: Path | None = None, *, read: bool = True) -> None:
        self.path = path or CACHE_DIR / f"gen-{split}.json"
        self.data: dict = {}
        if read and self.path.exists():
            self.data = json.loads(self.path.read_text())
        self.trained = 0  # trainings run by this process, in full-budget units
        self.seconds = 0.0
        self._last_save = time.monotonic()

    def entry(self, task: Task) -> dict:
        e = self.data.setdefault(task.name, {"task": task.to_dict(), "runs": {}, "curves": {}})
        return e

    def run(self, task: Task, k: int, fraction: float, seed: int) -> list[float]:
        key = f"{k}|{fraction:.4g}|{seed}"
        runs = self.entry(task)["runs"]
        if key not in runs:
            t0 = time.perf_counter()
            runs[key] = [round(v, 6) for v in train(task, peak_of(k), fraction, seed)]
            self.seconds += time.perf_counter() - t0
            self.trained += fraction
            if time.monotonic() - self._last_save > 30:
                self.save()
        return runs[key]

    def score(self, task: Task, k: int, fraction: float = 1.0, seed: int = 0) -> float:
        return self.run(task, k, fraction, seed)[0]

    def curves(self, task: Task) -> list[dict]:
        c = self.entry(task)["curves"]
        for s in RANGE_SEEDS:
            if str(s) not in c:
                c[str(s)] = range_curve(task, s)
        return [c[str(s)] for s in RANGE_SEEDS]

    def grid(self, task: Task, seeds=GRID_SEEDS, ks=None, *, extend: bool = True
             ) -> dict[int, list[float]]:
        """Per lattice point, the seeds' full-budget scores. The grid is extended by two
        points past an edge its best lands on (twice at most), so the optimum is inside."""
        ks = list(task.grid_k() if ks is None else ks)
        better = min if task.metric == "loss" else max
        for _ in range(3):
            per = {k: [self.score(task, k, 1.0, s) for s in seeds] for k in ks}
            mean = {k: sum(v) / len(v) for k, v in per.items()}
            best = better(mean, key=mean.get)
            if not extend or ks[0] < best < ks[-1]:
                break
            ks = [ks[0] - 2, ks[0] - 1, *ks] if best == ks[0] else [*ks, ks[-1] + 1, ks[-1] + 2]
        return per

    def known_ks(self, task: Task, seeds=GRID_SEEDS) -> list[int]:
        """Lattice points with every seed's full-budget score in the cache."""
        runs = self.entry(task)["runs"]
        ks = {int(key.split("|")[0]) for key in runs}
        return sorted(k for k in ks if all(f"{k}|1|{s}" in runs for s in seeds))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, separators=(",", ":")))
        os.replace(tmp, self.path)
        self._last_save = time.monotonic()
