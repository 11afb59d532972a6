"""The lessons' training bench: a small MLP on scikit-learn's digits with every batch already
in memory, so one lesson can train a grid of schedules over several seeds in a few seconds on a
2-core CPU (bench/lessons.py times it), and a claim is checked against the best of a grid rather
than a hand-picked baseline."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import torch

from clr_core.engine.results import TrainResult
from clr_core.engine.train import run_training
from clr_core.schedules import from_dict
from clr_core.setup.data import load_dataset
from clr_core.setup.models import make_model
from clr_core.setup.optim import make_optimizer

__all__ = ["BENCH", "TIE_POINTS", "Batches", "DigitsRun", "best_of", "digits_tensors",
           "iterations_to_reach", "margin_words", "one_thread", "reporting_progress",
           "tie_margin_points", "train", "train_grid"]

#: One setup for every lesson: big enough that the schedule matters, small enough to be instant.
BENCH = {"model": "mlp", "width": 32, "batch_size": 64, "optimizer": "sgd", "momentum": 0.9}

#: Two results closer than this (points of accuracy) are a tie even where the seeds agree
#: (one seed has no spread): the margin lessons 1, 5, 6 and 9 state ("within a point").
TIE_POINTS = 1.0


def tie_margin_points(*seed_spreads: float) -> float:
    """Points of accuracy within which results cannot be told apart: the most one of them
    moves between seeds (``seed_spreads``, in points), or `TIE_POINTS` where they agree."""
    return max(TIE_POINTS, *seed_spreads)


def margin_words(points: float, moved: str) -> str:
    """A `tie_margin_points` margin as a sentence says it: "a point", or "the 1.4 points"
    followed by ``moved`` (what moves between seeds, in the sentence's own words)."""
    return "a point" if points <= TIE_POINTS else f"the {points:.1f} points {moved}"


@functools.lru_cache(maxsize=1)
def digits_tensors() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    bundle = load_dataset("digits")
    x_train, y_train = bundle.train.tensors
    x_val, y_val = bundle.val.tensors
    return x_train, y_train, x_val, y_val


@contextlib.contextmanager
def one_thread():
    """A 32-unit MLP gains nothing from more threads, only contention on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Batches:
    """Shuffled mini-batches of in-memory tensors, one epoch per iteration over it; a private
    generator keeps the order a function of the seed alone."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size
        self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.y), generator=self.gen)
        for i in range(0, len(order) - self.batch_size + 1, self.batch_size):
            idx = order[i:i + self.batch_size]
            yield self.x[idx], self.y[idx]


@dataclass(frozen=True)
class DigitsRun:
    """One training run: validation accuracy every ``eval_every`` updates, the loss of every
    batch, the LR of every update."""

    label: str
    seed: int
    eval_iterations: np.ndarray
    val_accuracy: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    final_val_accuracy: float
    diverged: bool

    @classmethod
    def from_result(cls, label: str, seed: int, r: TrainResult) -> DigitsRun:
        it, acc = r.eval_curve("val_accuracy")
        final = r.final_val_accuracy
        return cls(label, seed, np.asarray(it, dtype=float), np.nan_to_num(np.asarray(acc, float)),
                   np.asarray(r.losses, float), np.asarray(r.lrs, float),
                   float(final) if final is not None and np.isfinite(final) else 0.0,
                   r.stop_reason == "diverged")


def train(schedule: Mapping, *, num_iter: int, seed: int = 0, eval_every: int = 10,
          label: str = "", optimizer: str = "sgd", weight_decay: float = 0.0,
          model: str = BENCH["model"]) -> DigitsRun:
    """Train the bench MLP with ``schedule`` (a schedule dict) for ``num_iter`` updates.
    Runs are deterministic, so they are remembered: a lesson that changes only its own
    schedule retrains only that, not the fixed-LR grid beside it."""
    run = _train(json.dumps(dict(schedule), sort_keys=True), int(num_iter), int(seed),
                 int(eval_every), optimizer, float(weight_decay), model)
    return dataclasses.replace(run, label=label)


@functools.lru_cache(maxsize=512)
def _train(schedule_json: str, num_iter: int, seed: int, eval_every: int, optimizer: str,
           weight_decay: float, model_name: str = BENCH["model"]) -> DigitsRun:
    schedule = json.loads(schedule_json)
    x_train, y_train, x_val, y_val = digits_tensors()
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make_model(model_name, (1, 8, 8), 10, seed=seed, width=BENCH["width"])
        sched = from_dict(schedule)
        first = float(sched.lr(np.array([0]))[0]) or float(sched.lr(np.arange(num_iter)).max())
        opt = make_optimizer(optimizer, model, lr=first,  # a warm-up's 0: the schedule sets it
                             momentum=BENCH["momentum"] if optimizer.startswith("sgd") else None,
                             weight_decay=weight_decay)
        result = run_training(model, opt, torch.nn.functional.cross_entropy,
                              Batches(x_train, y_train, BENCH["batch_size"], seed),
                              num_iter=num_iter, schedule=sched, val_loader=[(x_val, y_val)],
                              eval_every=eval_every, device="cpu", diverge_threshold=10.0)
    return DigitsRun.from_result("", seed, result)


_PROGRESS: ContextVar[Callable[[int, int], None] | None] = ContextVar("lesson_progress",
                                                                     default=None)


@contextlib.contextmanager
def reporting_progress(report: Callable[[int, int], None]) -> Iterator[None]:
    """While inside, every `train_grid` calls ``report(runs done, runs in all)`` before its
    first run and after each one, so a page can draw a progress bar and the time left of a
    lesson's demo (issue 32: a lesson's grid runs 5-15 s) without each lesson's view
    passing a second callback down (a context variable: only this thread's calls report)."""
    token = _PROGRESS.set(report)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def train_grid(variants: Mapping[str, Mapping], *, num_iter: int, seeds: Sequence[int],
               eval_every: int = 10,
               on_run: Callable[[DigitsRun], None] | None = None) -> dict[str, list[DigitsRun]]:
    """Every variant ({label: {"schedule": ..., maybe "optimizer", "weight_decay"}}) on
    every seed; ``on_run`` sees each run as it finishes, so a page can draw it live (and
    `reporting_progress`'s callback how many are done)."""
    report = _PROGRESS.get()
    total, done = len(variants) * len(seeds), 0
    if report is not None:
        report(done, total)
    out: dict[str, list[DigitsRun]] = {}
    for label, spec in variants.items():
        for seed in seeds:
            run = train(spec["schedule"], num_iter=num_iter, seed=seed, eval_every=eval_every,
                        label=label, optimizer=spec.get("optimizer", "sgd"),
                        weight_decay=spec.get("weight_decay", 0.0),
                        model=spec.get("model", BENCH["model"]))
            out.setdefault(label, []).append(run)
            done += 1
            if on_run is not None:
                on_run(run)
            if report is not None:
                report(done, total)
    return out


def iterations_to_reach(run: DigitsRun, target: float) -> float:
    """Updates until validation accuracy first reaches ``target``; inf if it never does."""
    hit = np.nonzero(run.val_accuracy >= target - 1e-9)[0]
    return float(run.eval_iterations[hit[0]]) if len(hit) else float("inf")


def best_of(runs: Mapping[str, list[DigitsRun]], labels: Sequence[str]) -> str:
    """The label among ``labels`` with the best median final accuracy over seeds (the mean
    breaks ties): the fair baseline is the best of a grid, never one picked by hand."""
    def score(k: str) -> tuple[float, float]:
        acc = [r.final_val_accuracy for r in runs[k]]
        return float(np.median(acc)), float(np.mean(acc))
    return max(labels, key=score)
