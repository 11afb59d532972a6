"""Trackers: range tests and trainings written where a team already looks (TensorBoard,
MLflow), and past runs from there brought into the run store.

* `TensorBoardSink`, `MLflowSink`: sinks for ``record=`` beside (or instead of) the
  store, ``record=["my run", TensorBoardSink("runs/tb"), MLflowSink()]``: the curve (loss,
  smoothed loss and LR per step), every param group's LR and momentum, the suggestions
  and, for MLflow, the figure.
* `import_tensorboard`, `import_mlflow`: a TensorBoard event directory (read with
  tbparse) or an MLflow run as a "train" run in the store, so the Runs page draws its loss
  and LR curves beside designed schedules.

tensorboard, tbparse and mlflow are optional (requirements-dev.txt): each is imported
when first used, and a missing one is a `ConfigError` saying what to install.
"""

from __future__ import annotations

from clr_core.trackers.imports import (
    import_mlflow,
    import_tensorboard,
    tensorboard_runs,
)
from clr_core.trackers.sinks import MLflowSink, TensorBoardSink

__all__ = [
    "MLflowSink",
    "TensorBoardSink",
    "import_mlflow",
    "import_tensorboard",
    "tensorboard_runs",
]
