"""TensorBoard and MLflow as `clr_core.runs.recorder.Sink` s of a recorded run.

Both write the same things under the same names, so a dashboard built on one reads the
other: per step ``loss``, ``smoothed_loss`` (a range test's debiased EMA), ``lr`` (the
reference group's, the one a range test sweeps), ``lr/group_<i>`` and
``momentum/group_<i>`` for every param group (momentum: SGD's, or Adam's β1), and per
validation ``val_loss`` / ``val_accuracy``; at the end each suggestion's ``max_lr`` and
``base_lr`` (``suggestion/<method>/max_lr``) and a text summary. A range test's events
carry only the reference group's LR, so the other groups' are the same multiple of it the
sweep kept (`clr_core.engine.range_test`), and a training's events carry group 0's, the others
kept at their ratio to it as schedules do; a group's momentum is what the event says, or the
optimizer's at the start. TensorBoard plots scalars against the step only, so the LR
rides along as a scalar beside the loss; MLflow also gets the loss-versus-LR figure
(``mlflow.log_figure``, interactive HTML).
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clr_core.engine.results import RangeTestResult
from clr_core.errors import ConfigError
from clr_core.present.plots import range_test_figure
from clr_core.setup.data_catalogue import summary_of

__all__ = ["SINKS", "MLflowSink", "TensorBoardSink", "mlflow_uri", "need"]

#: How the optional packages are installed, for the message when one is missing.
_INSTALL = {"tensorboard": "tensorboard", "tbparse": "tbparse", "mlflow": "mlflow"}


def need(module: str, what: str) -> Any:
    """Import an optional tracker package, or a `ConfigError` saying what to install."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"{what} needs the {top!r} package: pip install "
                          f"{_INSTALL.get(top, top)} ({e})") from None


def mlflow_uri(tracking: str | Path | None) -> tuple[str, str | None]:
    """(tracking URI, artifact folder URI or None) for an MLflow store given as a URI or a
    local folder. A folder holds a local SQLite store, ``<folder>/mlflow.db``, and its
    artifacts in ``<folder>/artifacts`` (MLflow 3 refuses its old file store unless
    ``MLFLOW_ALLOW_FILE_STORE=true``; a folder that already is one is opened as one);
    None is the folder ``./mlruns``."""
    if tracking is not None and not isinstance(tracking, Path) and "://" in str(tracking):
        return str(tracking), None
    folder = Path("mlruns" if tracking is None else tracking).resolve()
    if not (folder / "mlflow.db").exists() and any(folder.glob("*/meta.yaml")):
        return folder.as_uri(), None  # an old file store, as it is
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri()


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _slug(text: str) -> str:
    # no leading dot: a name of dots alone ("..") would lead out of the log folder
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "run"


class _Scalars:
    """The scalars of one event as (name, value, step), the same for both sinks."""

    def __init__(self) -> None:
        self.scales: list[float] = []
        self.momenta: list[float] = []

    def open(self, kind: str, groups: list[tuple[float, float]]) -> None:
        """A range test's events carry the largest group's LR (the swept one), a
        training's group 0's (`clr_core.engine.train`)."""
        lrs = [lr for lr, _ in groups]
        top = (max(lrs, default=0.0) if kind == "range_test" else lrs[0]) if lrs else 0.0
        self.scales = [lr / top if top > 0 and math.isfinite(lr) else 1.0 for lr in lrs]
        self.momenta = [m for _, m in groups]

    def of(self, event: Mapping[str, Any]) -> list[tuple[str, float, int]]:
        step = int(event.get("iteration", 0))
        out: list[tuple[str, float, int]] = []

        def put(name: str, value: Any) -> None:
            v = _finite(value)
            if v is not None:
                out.append((name, v, step))

        if event.get("kind") == "eval":
            put("val_loss", event.get("val_loss"))
            put("val_accuracy", event.get("val_accuracy"))
            return out
        put("loss", event.get("loss"))
        put("smoothed_loss", event.get("smoothed"))
        put("lr", event.get("lr"))
        group_lrs = event.get("group_lrs")
        if group_lrs is None and _finite(event.get("lr")) is not None and self.scales:
            group_lrs = [float(event["lr"]) * s for s in self.scales]
        for i, v in enumerate(group_lrs or []):
            put(f"lr/group_{i}", v)
        group_moms = event.get("group_momentums")
        if group_moms is None and self.momenta:
            m = _finite(event.get("momentum"))
            group_moms = [m if m is not None else x for x in self.momenta]
        for i, v in enumerate(group_moms or []):
            put(f"momentum/group_{i}", v)
        return out


def _suggestions(report: Mapping[str, Any] | None) -> dict[str, float]:
    """Each suggestion's max_lr and base_lr from a saved range-test report."""
    rt = (report or {}).get("range_test") or {}
    out: dict[str, float] = {}
    for method, s in (rt.get("suggestions") or {}).items():
        for key in ("max_lr", "base_lr"):
            v = _finite(s.get(key))
            if v is not None:
                out[f"suggestion/{method}/{key}"] = v
    return out


def _summary(kind: str, status: str, report: Mapping[str, Any] | None,
             error: str | None) -> str:
    lines = [f"{kind}: {status}"]
    if report and report.get("headline"):
        lines.append(str(report["headline"]))
    used = ((report or {}).get("range_test") or {}).get("settings_used")
    if used:
        lines.append("settings used: " + ", ".join(f"{k}={v}" for k, v in used.items()))
    if error:
        lines.append(f"error: {error}")
    return "\n\n".join(lines)


def _figure(report: Mapping[str, Any] | None) -> Any:
    """The range test's loss-versus-LR figure (plotly), or None for another report."""
    if not report or "range_test" not in report:
        return None
    rt = RangeTestResult.from_dict(report["range_test"])
    if not rt.iterations:
        return None
    return range_test_figure(rt, summary_of(rt, report.get("config")))


class TensorBoardSink:
    """A recorded run written as a TensorBoard event file (``torch.utils.tensorboard``):
    ``tensorboard --logdir LOG_DIR`` shows it. Each run goes to its own folder
    ``LOG_DIR/<run name>`` (a number added when that folder is taken), so runs sit side by
    side as TensorBoard expects; ``run_dir`` is where the last run went. Scalars are
    prefixed by the run's kind (``range_test/loss``, ``train/lr/group_1``)."""

    def __init__(self, log_dir: str | Path = "runs", *, run_name: str | None = None,
                 flush_secs: int = 5) -> None:
        need("torch.utils.tensorboard", "TensorBoardSink")  # said now, not mid-run
        self.log_dir = Path(log_dir)
        self.run_name = run_name
        self.flush_secs = int(flush_secs)
        self.run_dir: Path | None = None
        self._writer: Any = None
        self._kind = "run"
        self._scalars = _Scalars()

    def __repr__(self) -> str:
        return f"TensorBoardSink({str(self.log_dir)!r})"

    def open(self, kind: str, config: Mapping[str, Any], label: str,
             groups: list[tuple[float, float]]) -> None:
        tb = need("torch.utils.tensorboard", "TensorBoardSink")
        base = _slug(self.run_name or label)
        path, n = self.log_dir / base, 1
        while path.exists():
            n += 1
            path = self.log_dir / f"{base}-{n}"
        self.run_dir = path
        self._kind = kind
        self._scalars.open(kind, groups)
        self._writer = tb.SummaryWriter(log_dir=str(path), flush_secs=self.flush_secs)
        config_text = "\n".join(f"    {k}: {v}" for k, v in config.items())
        self._writer.add_text(f"{kind}/config", config_text, 0)

    def __call__(self, event: Mapping[str, Any]) -> None:
        if self._writer is None:
            return
        for name, value, step in self._scalars.of(event):
            self._writer.add_scalar(f"{self._kind}/{name}", value, step)

    def close(self, status: str, report: Mapping[str, Any] | None,
              error: str | None = None) -> None:
        w, self._writer = self._writer, None
        if w is None:
            return
        try:
            for name, value in _suggestions(report).items():
                w.add_scalar(f"{self._kind}/{name}", value, 0)
            w.add_text(f"{self._kind}/summary", _summary(self._kind, status, report, error), 0)
        finally:
            w.close()


class MLflowSink:
    """A recorded run as an MLflow run: metrics per step, the config and the suggestions
    as params (the suggestions as metrics too), the summary as a tag, the range test's
    figure as ``range_test.html``, and the run ended FINISHED, KILLED (cancelled) or
    FAILED. ``tracking_uri``: a local folder (None: ``./mlruns``) holding a local SQLite
    store and its artifacts (`mlflow_uri`; ``mlflow ui --backend-store-uri
    sqlite:///mlruns/mlflow.db`` opens it), or any MLflow URI (a tracking server);
    ``experiment`` is created when missing. Metrics are
    sent in batches (``MlflowClient.log_batch``), so a remote server is not asked once per
    step. ``run_id`` names the MLflow run once open."""

    BATCH = 500

    def __init__(self, tracking_uri: str | Path | None = None, *,
                 experiment: str = "CLR Studio", run_name: str | None = None) -> None:
        need("mlflow", "MLflowSink")
        self.tracking_uri, self._artifacts = mlflow_uri(tracking_uri)
        self.experiment = experiment
        self.run_name = run_name
        self.run_id: str | None = None
        self._client: Any = None
        self._pending: list[Any] = []
        self._scalars = _Scalars()

    def __repr__(self) -> str:
        return f"MLflowSink({self.tracking_uri!r}, experiment={self.experiment!r})"

    def open(self, kind: str, config: Mapping[str, Any], label: str,
             groups: list[tuple[float, float]]) -> None:
        tracking = need("mlflow.tracking", "MLflowSink")
        client = tracking.MlflowClient(tracking_uri=self.tracking_uri)
        if self._artifacts is not None and self.tracking_uri.startswith("sqlite:"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                          exist_ok=True)
        exp = client.get_experiment_by_name(self.experiment)
        exp_id = exp.experiment_id if exp is not None else client.create_experiment(
            self.experiment, artifact_location=self._artifacts)
        run = client.create_run(exp_id, run_name=self.run_name or label,
                                tags={"clr_studio.kind": kind})
        self._client, self.run_id = client, run.info.run_id
        self._scalars.open(kind, groups)
        params = [need("mlflow.entities", "MLflowSink").Param(str(k)[:250], str(v)[:6000])
                  for k, v in config.items() if v is not None]
        if params:
            client.log_batch(self.run_id, params=params)

    def __call__(self, event: Mapping[str, Any]) -> None:
        if self._client is None:
            return
        metric = need("mlflow.entities", "MLflowSink").Metric
        now = int(time.time() * 1000)
        self._pending.extend(metric(name, value, now, step)
                             for name, value, step in self._scalars.of(event))
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:self.BATCH], self._pending[self.BATCH:]
            self._client.log_batch(self.run_id, metrics=batch)

    def close(self, status: str, report: Mapping[str, Any] | None,
              error: str | None = None) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._client = client
        entities = need("mlflow.entities", "MLflowSink")
        state = {"done": "FINISHED", "cancelled": "KILLED"}.get(status, "FAILED")
        try:
            self._flush()
            found = _suggestions(report)
            now = int(time.time() * 1000)
            if found:
                client.log_batch(self.run_id,
                                 metrics=[entities.Metric(k, v, now, 0) for k, v in found.items()],
                                 params=[entities.Param(k, repr(v)) for k, v in found.items()])
            client.set_tag(self.run_id, "clr_studio.summary",
                           _summary(str(report.get("kind", "run")) if report else "run",
                                    status, report, error)[:5000])
            figure = _figure(report)
            if figure is not None:
                client.log_figure(self.run_id, figure, "range_test.html")
        finally:
            self._client = None
            client.set_terminated(self.run_id, state)


#: Each tracker by the name a person gives it (the CLI's ``--log-to``, the operator's roles).
SINKS = {"tensorboard": TensorBoardSink, "mlflow": MLflowSink}
