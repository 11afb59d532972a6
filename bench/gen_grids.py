"""Fill the generated benchmark's cache: each task's grid (12+ peaks x 2 seeds, the task's
own schedule and budget) and its 3 range tests. ``--rebuild`` starts from an empty cache.

    python -m bench.gen_grids --split dev            # what is missing
    python -m bench.gen_grids --split dev --rebuild  # everything again
"""

from __future__ import annotations

import argparse
import time

try:  # run as ``python -m bench.gen_grids`` or loaded from its file by the tests
    from bench.gen_cache import Cache, tasks
except ImportError:  # pragma: no cover - loaded as a sibling script
    from gen_cache import Cache, tasks  # type: ignore[no-redef]


def fill(split: str, *, rebuild: bool = False, cache: Cache | None = None) -> Cache:
    cache = cache or Cache(split, read=not rebuild)
    t_all = time.perf_counter()
    for i, task in enumerate(tasks(split)):
        t0, n0 = time.perf_counter(), cache.trained
        cache.curves(task)
        per = cache.grid(task, extend=split != "quick") if split != "quick" else \
            cache.grid(task, seeds=(0,), ks=task.grid_k()[2:9:2], extend=False)
        cache.save()
        print(f"[{i + 1}/{len(tasks(split))}] {task.name}: {len(per)} peaks, "
              f"{cache.trained - n0:.0f} trainings, {time.perf_counter() - t0:.1f} s "
              f"(total {time.perf_counter() - t_all:.0f} s)", flush=True)
    return cache


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("dev", "test", "quick"), default="dev")
    ap.add_argument("--rebuild", action="store_true")
    a = ap.parse_args(argv)
    fill(a.split, rebuild=a.rebuild)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
