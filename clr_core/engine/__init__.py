"""The engine: torch code that trains. One loop (``loop``) drives both the LR range test
(``range_test``) and short trainings (``train``); they emit typed ``Event``s (``events``) and
return typed results (``results``). ``device`` picks cuda, mps or cpu; ``restore`` puts a
model and optimizer back bit for bit; ``smoothing``, ``sharpness``, ``baselines`` and
``param_groups`` are the pieces the two share.

The engine knows nothing of the run store or of jobs: recording wraps it
(`clr_core.range_test`, `clr_core.train`) and jobs call it.

May import: ``clr_core.suggest``, ``clr_core.schedules``, ``validation``, ``jsonsafe``,
``errors``.
"""

from __future__ import annotations

from clr_core.engine.baselines import (
    ADAM_LR,
    BASELINES,
    BaselineInfo,
    baseline_lrs,
    baseline_plan,
    compare_runs,
)
from clr_core.engine.device import (
    Precision,
    amp_available,
    amp_dtype,
    available_devices,
    describe_device,
    pick_device,
    precision_for,
)
from clr_core.engine.events import EVAL, FLOAT_FIELDS, KINDS, STEP, Event, EventColumns, EventTable
from clr_core.engine.loop import (
    Batches,
    DivergenceCheck,
    LoaderExhausted,
    Stepper,
    check_val_loader,
    count_correct,
    drive,
    model_device,
    mover,
    resolve_device,
    split_batch,
)
from clr_core.engine.param_groups import get_momentum
from clr_core.engine.range_test import MODES, lr_sequence, run_range_test
from clr_core.engine.restore import Snapshot, move_optimizer_state
from clr_core.engine.results import (
    RANGE_STOP_REASONS,
    RUNNING,
    SHARPNESS_COLUMNS,
    TRAIN_STOP_REASONS,
    VAL_COLUMNS,
    RangeTestResult,
    TrainResult,
    suggestion_from_dict,
    suggestion_to_dict,
)
from clr_core.engine.sharpness import (
    LastBatch,
    Sharpness,
    SharpnessTracker,
    hessian_max_eigenvalue,
    stability_limit,
)
from clr_core.engine.smoothing import DEFAULT_BETA, EmaSmoother, ema
from clr_core.engine.train import run_training

__all__ = [
    "ADAM_LR",
    "BASELINES",
    "BaselineInfo",
    "Batches",
    "DEFAULT_BETA",
    "DivergenceCheck",
    "EVAL",
    "EmaSmoother",
    "Event",
    "EventColumns",
    "EventTable",
    "FLOAT_FIELDS",
    "KINDS",
    "LastBatch",
    "LoaderExhausted",
    "MODES",
    "Precision",
    "RANGE_STOP_REASONS",
    "RUNNING",
    "RangeTestResult",
    "SHARPNESS_COLUMNS",
    "STEP",
    "Sharpness",
    "SharpnessTracker",
    "Snapshot",
    "Stepper",
    "TRAIN_STOP_REASONS",
    "TrainResult",
    "VAL_COLUMNS",
    "amp_available",
    "amp_dtype",
    "available_devices",
    "baseline_lrs",
    "baseline_plan",
    "check_val_loader",
    "compare_runs",
    "count_correct",
    "describe_device",
    "drive",
    "ema",
    "get_momentum",
    "hessian_max_eigenvalue",
    "lr_sequence",
    "model_device",
    "move_optimizer_state",
    "mover",
    "pick_device",
    "precision_for",
    "resolve_device",
    "run_range_test",
    "run_training",
    "split_batch",
    "stability_limit",
    "suggestion_from_dict",
    "suggestion_to_dict",
]
