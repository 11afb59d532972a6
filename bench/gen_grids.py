"""Fill the generated benchmark's cache: each task's grid (12+ peaks x 2 seeds, the task's
own schedule and budget) and its 3 range tests. ``--rebuild`` starts from an empty cache.

    python -m bench.gen_grids --split dev            # what is missing
    python -m bench.gen_grids --split dev --rebuild  # everything again
    python -m bench.gen_grids --split dev2 --shard 0/2 & \
    python -m bench.gen_grids --split dev2 --shard 1/2; python -m bench.gen_grids --split dev2 --merge
"""

from __future__ import annotations

import argparse
import time

try:  # run as ``python -m bench.gen_grids`` or loaded from its file by the tests
    from bench.gen_cache import CACHE_DIR, SPLITS, Cache, merge_shards, tasks
except ImportError:  # pragma: no cover - loaded as a sibling script
    from gen_cache import CACHE_DIR, SPLITS, Cache, merge_shards, tasks  # type: ignore[no-redef]


def fill(split: str, *, rebuild: bool = False, cache: Cache | None = None,
         shard: tuple[int, int] = (0, 1)) -> Cache:
    i_shard, n_shards = shard
    path = CACHE_DIR / f"gen-{split}.shard{i_shard}.json" if n_shards > 1 else None
    cache = cache or Cache(split, path, read=not rebuild)
    t_all = time.perf_counter()
    todo = tasks(split)[i_shard::n_shards]
    for i, task in enumerate(todo):
        t0, n0 = time.perf_counter(), cache.trained
        cache.curves(task)
        per = cache.grid(task, extend=split != "quick") if split != "quick" else \
            cache.grid(task, seeds=(0,), ks=task.grid_k()[2:9:2], extend=False)
        cache.save()
        print(f"[{i + 1}/{len(todo)}] {task.name}: {len(per)} peaks, "
              f"{cache.trained - n0:.0f} trainings, {time.perf_counter() - t0:.1f} s "
              f"(total {time.perf_counter() - t_all:.0f} s)", flush=True)
    return cache


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=(*SPLITS, "quick"), default="dev")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--shard", default="0/1", help="I/N: every N-th task from the I-th, to "
                    "its own file (run N at once, then --merge)")
    ap.add_argument("--merge", action="store_true", help="fold the shard files into the cache")
    a = ap.parse_args(argv)
    if a.merge:
        print(f"merged {merge_shards(a.split)} shard files")
        return 0
    i, n = (int(v) for v in a.shard.split("/"))
    fill(a.split, rebuild=a.rebuild, shard=(i, n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
