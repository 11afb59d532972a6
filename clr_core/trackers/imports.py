"""Past runs from TensorBoard or MLflow brought into the run store, as "train" runs the
Runs page draws (loss and LR versus step) and overlays with designed schedules.

What is read: the training loss, the LR and (when logged) the momentum per step, and the
validation loss and accuracy. The tags are found by the names the common loggers use
(Lightning's ``LearningRateMonitor`` "lr-SGD", Hugging Face's "train/loss" and
"train/learning_rate", CLR Studio's own sinks' "train/lr" or "range_test/loss"), or named by
the caller. The LR and momentum are aligned to the loss's steps, each the last value logged
at or before that step (a logger that writes the LR less often than the loss).

Messages never name a folder on the server: the caller says what to call the source
(``source_name``), which is also what the stored config keeps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clr_core.engine.events import EVAL, Event
from clr_core.engine.results import TrainResult
from clr_core.errors import ConfigError
from clr_core.runs.identity import script_owner
from clr_core.runs.recorder import StoreLike, open_store
from clr_core.runs.reports import TrainCurve, train_report
from clr_core.trackers.sinks import mlflow_uri, need

__all__ = ["import_mlflow", "import_tensorboard", "pick_tags", "tensorboard_runs"]

#: Tag names read as the training loss, the LR, the momentum, the validation metrics;
#: first found wins (after a caller's own names).
LOSS_TAGS = ("train/loss", "train_loss", "loss", "train/train_loss", "training_loss",
             "Loss/train", "range_test/loss", "train/loss_step", "train_loss_step")
LR_TAGS = ("train/lr", "lr", "learning_rate", "train/learning_rate", "lr-SGD", "lr-Adam",
           "lr-AdamW", "range_test/lr", "train/lr/group_0", "lr/group_0")
MOMENTUM_TAGS = ("train/momentum", "momentum", "train/momentum/group_0", "momentum/group_0",
                 "lr-SGD-momentum", "lr-Adam-momentum", "lr-AdamW-momentum",
                 "range_test/momentum/group_0")
VAL_LOSS_TAGS = ("train/val_loss", "val_loss", "eval/loss", "eval_loss", "val/loss",
                 "range_test/val_loss")
VAL_ACC_TAGS = ("train/val_accuracy", "val_accuracy", "val_acc", "eval/accuracy",
                "eval_accuracy", "val/acc", "range_test/val_accuracy")


def _first(tags: Sequence[str], wanted: str | None, names: Sequence[str],
           what: str) -> str | None:
    if wanted is not None:
        if wanted not in tags:
            raise ConfigError(f"no {what} tag {wanted!r} in this run; its tags: "
                              f"{', '.join(sorted(tags)[:30])}")
        return wanted
    return next((t for t in names if t in tags), None)


def pick_tags(tags: Sequence[str], *, loss_tag: str | None = None, lr_tag: str | None = None,
              momentum_tag: str | None = None) -> dict[str, str | None]:
    """The tags read as loss, LR, momentum, validation loss and accuracy (None: absent).
    A run with no loss or no LR tag is a `ConfigError` listing the tags it has."""
    tags = list(tags)
    picked = {"loss": _first(tags, loss_tag, LOSS_TAGS, "loss"),
              "lr": _first(tags, lr_tag, LR_TAGS, "learning-rate"),
              "momentum": _first(tags, momentum_tag, MOMENTUM_TAGS, "momentum"),
              "val_loss": _first(tags, None, VAL_LOSS_TAGS, "validation loss"),
              "val_accuracy": _first(tags, None, VAL_ACC_TAGS, "validation accuracy")}
    if picked["lr"] is None:  # Lightning names its monitor's tag after the optimizer
        picked["lr"] = next((t for t in tags if t.startswith("lr-") and "momentum" not in t),
                            None)
    for key, name in (("loss", "training loss"), ("lr", "learning rate")):
        if picked[key] is None:
            shown = ", ".join(sorted(tags)[:30]) or "none"
            raise ConfigError(f"this run has no {name} tag CLR Studio knows (tags: {shown}); "
                              f"name it with {key}_tag=")
    return picked


def _aligned(steps: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` logged at steps ``at``, read at ``steps``: the last at or before each
    (NaN before the first)."""
    if not len(at):
        return np.full(len(steps), math.nan)
    order = np.argsort(at, kind="stable")
    at, values = at[order], values[order]
    idx = np.searchsorted(at, steps, side="right") - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)], math.nan)
    return out.astype(float)


def _save(series: Mapping[str, tuple[np.ndarray, np.ndarray]], picked: Mapping[str, str | None],
          *, source: str, source_name: str, label: str | None, store: StoreLike,
          owner: str | None) -> int:
    """The series as a "train" run in the store; returns its id."""
    loss_steps, losses = series[picked["loss"]]
    order = np.argsort(loss_steps, kind="stable")
    steps, losses = loss_steps[order].astype(np.int64), losses[order].astype(float)
    if not len(steps):
        raise ConfigError("the run's loss tag holds no values")
    lrs = _aligned(steps, *series[picked["lr"]])
    moms = (_aligned(steps, *series[picked["momentum"]]) if picked["momentum"]
            else np.full(len(steps), math.nan))
    result = TrainResult(iterations=[int(s) for s in steps], lrs=lrs.tolist(),
                         momentums=moms.tolist(), losses=losses.tolist(),
                         batch_accuracies=[math.nan] * len(steps), num_iter=int(steps[-1]) + 1,
                         device="", stop_reason="completed")
    val_steps: dict[int, dict[str, float]] = {}
    for key in ("val_loss", "val_accuracy"):
        if picked[key]:
            for s, v in zip(*series[picked[key]], strict=True):
                val_steps.setdefault(int(s), {})[key] = float(v)
    for s in sorted(val_steps):
        got = val_steps[s]
        result.evals.append(Event(EVAL, s, lr=float(_aligned(np.array([s]), *series[picked["lr"]])[0]),
                                  val_loss=got.get("val_loss", math.nan),
                                  val_accuracy=got.get("val_accuracy", math.nan)))
    accs = [e.val_accuracy for e in result.evals if math.isfinite(e.val_accuracy)]
    if accs:
        result.final_val_accuracy = accs[-1]
        best = max(range(len(result.evals)), key=lambda i: (
            result.evals[i].val_accuracy if math.isfinite(result.evals[i].val_accuracy) else -1))
        result.best_val_accuracy = result.evals[best].val_accuracy
        result.best_iteration = result.evals[best].iteration
    name = label or f"{source}: {source_name}"
    config = {"source": source, "dataset": f"imported from {source}", "imported": source_name,
              "num_iter": result.num_iter, "tags": {k: v for k, v in picked.items() if v}}
    report = train_report([TrainCurve(label=name, train=result, config=config)], config,
                          cancelled=False)
    if report.headline is None:
        report.headline = f"{name}: last loss {losses[-1]:.4g}"
    return open_store(store).save_run("train", config, report.to_dict(), label=name,
                                      owner=owner or script_owner())


# ----------------------------------------------------------------------- TensorBoard


def _reader(log_dir: str | Path) -> Any:
    tbparse = need("tbparse", "Importing a TensorBoard run")
    path = Path(log_dir)
    if not path.is_dir():
        raise ConfigError("that TensorBoard folder does not exist")
    return tbparse.SummaryReader(str(path), pivot=False, extra_columns={"dir_name"})


def tensorboard_runs(log_dir: str | Path) -> list[str]:
    """The runs (event-file folders, relative to ``log_dir``; "" for ``log_dir`` itself)
    that hold scalars."""
    frame = _reader(log_dir).scalars
    if frame.empty:
        return []
    return sorted({str(d) for d in frame["dir_name"].fillna("")})


def import_tensorboard(log_dir: str | Path, *, run: str | None = None, store: StoreLike = None,
                       label: str | None = None, source_name: str | None = None,
                       loss_tag: str | None = None, lr_tag: str | None = None,
                       momentum_tag: str | None = None, owner: str | None = None) -> int:
    """A TensorBoard event directory (read with tbparse) as a "train" run in the store;
    returns its id. ``run``: which run folder under ``log_dir`` when it holds several
    (`tensorboard_runs`). The tags are found by their usual names (`pick_tags`) or named.
    ``owner``: who the stored run belongs to (the app's visitor; a script's by default)."""
    frame = _reader(log_dir).scalars
    if frame.empty:
        raise ConfigError("no TensorBoard scalars in that folder (no event files, or "
                          "only images and text)")
    frame = frame.assign(dir_name=frame["dir_name"].fillna("").astype(str))
    runs = sorted(set(frame["dir_name"]))
    if run is None and len(runs) > 1:
        raise ConfigError(f"that folder holds {len(runs)} TensorBoard runs "
                          f"({', '.join(r or '.' for r in runs[:20])}): choose one with run=")
    chosen = runs[0] if run is None else run
    if chosen not in runs:
        raise ConfigError(f"no TensorBoard run {chosen!r} there; runs: "
                          f"{', '.join(r or '.' for r in runs[:20])}")
    frame = frame[frame["dir_name"] == chosen]
    series = {str(tag): (g["step"].to_numpy(np.int64), g["value"].to_numpy(float))
              for tag, g in frame.groupby("tag")}
    picked = pick_tags(list(series), loss_tag=loss_tag, lr_tag=lr_tag,
                       momentum_tag=momentum_tag)
    name = source_name or "/".join(p for p in (Path(log_dir).name, chosen) if p)
    return _save(series, picked, source="tensorboard", source_name=name, label=label,
                 store=store, owner=owner)


# ---------------------------------------------------------------------------- MLflow


def import_mlflow(run_id: str, *, tracking_uri: str | Path | None = None,
                  store: StoreLike = None, label: str | None = None,
                  source_name: str | None = None, loss_tag: str | None = None,
                  lr_tag: str | None = None, momentum_tag: str | None = None,
                  owner: str | None = None) -> int:
    """An MLflow run (by its id, in the store at ``tracking_uri``: a folder as `MLflowSink`
    writes it, or any MLflow URI; None for MLflow's default) as a "train" run in the store; returns
    its id. Metric histories are read with ``MlflowClient.get_metric_history``."""
    tracking = need("mlflow.tracking", "Importing an MLflow run")
    exceptions = need("mlflow.exceptions", "Importing an MLflow run")
    local = tracking_uri is not None and (isinstance(tracking_uri, Path)
                                          or "://" not in str(tracking_uri))
    if local and not Path(tracking_uri).is_dir():
        raise ConfigError("that MLflow tracking folder does not exist")
    uri = None if tracking_uri is None else mlflow_uri(tracking_uri)[0]
    run_id = str(run_id or "").strip()
    if not run_id.isalnum():
        raise ConfigError(f"an MLflow run id is letters and digits, got {run_id[:60]!r}")
    client = tracking.MlflowClient(tracking_uri=uri)
    try:
        run = client.get_run(run_id)
        series = {}
        for key in run.data.metrics:
            history = client.get_metric_history(run_id, key)
            series[key] = (np.array([m.step for m in history], dtype=np.int64),
                           np.array([m.value for m in history], dtype=float))
    except exceptions.MlflowException as e:
        raise ConfigError(f"MLflow could not read run {run_id!r}: "
                          f"{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}"
                          ) from None
    picked = pick_tags(list(series), loss_tag=loss_tag, lr_tag=lr_tag, momentum_tag=momentum_tag)
    name = source_name or (run.info.run_name or run_id)
    return _save(series, picked, source="mlflow", source_name=name, label=label, store=store,
                 owner=owner)
