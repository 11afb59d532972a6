"""What the pages call things: the schedules a suggestion can be handed to, the settings a
sweep can vary (with Smith's advice for each), and a run: one label that says what differs
between runs (optimizer, model, LR range, the name it was recorded under), used by every
list, chip, legend and overview. (Escaping it for markdown is the page's job.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clr_core.present.style import tick_text
from clr_core.suggest.handoff import HANDOFF_LABELS  # named where the policies are

__all__ = ["HANDOFF_LABELS", "KIND_NOUNS", "SWEEP_PARAM_LABELS", "curve_label", "run_label"]

#: How a run's kind reads in a label.
KIND_NOUNS = {"range_test": "range test", "train": "training", "sweep": "sweep",
              "confirm": "confirmation"}
#: Labels the app gave runs before they said what differs: a recorded name is kept only
#: when it is not one of these.
_GENERIC = ("range test · ", "training · ", "sweep · ", "confirmation · ")

#: ``clr_core.setup.configs.SWEEP_PARAMS``, each with the paper's advice the sweeps page shows.
SWEEP_PARAM_LABELS = {
    "weight_decay": "Weight decay (Smith 2018: try 1e-3, 1e-4, 1e-5, 0; pick the largest that "
                    "still allows a high max_lr)",
    "batch_size": "Batch size (Smith 2018: larger batches allow larger learning rates)",
    "momentum": "Momentum (Smith 2018: test 0.9-0.99; cyclical 0.95 -> 0.85 works best)",
    "seed": "Seed: the same test repeated, to see how far each suggestion moves",
}


def _lr(value: Any) -> str:
    return tick_text(float(f"{float(value):.3g}"))


def _what_differs(kind: str, config: Mapping[str, Any]) -> list[str]:
    base = config.get("base") if kind == "sweep" and isinstance(config.get("base"), Mapping) \
        else config
    parts = []
    if kind == "sweep" and config.get("param"):
        parts.append(f"over {config['param']}")
    for key in ("model", "optimizer", "dataset"):
        if base.get(key):
            parts.append(str(base[key]))
    if kind in ("range_test", "sweep") and base.get("start_lr") is not None \
            and base.get("end_lr") is not None:
        parts.append(f"LR {_lr(base['start_lr'])}→{_lr(base['end_lr'])}")
    if kind == "confirm" and config.get("policy") and config.get("budget"):
        parts.append(f"{config['policy']} {config['budget']} it")
    if kind == "train":
        sched = config.get("schedule") or {}
        if isinstance(sched, Mapping) and sched.get("policy"):
            peak = sched.get("max_lr", sched.get("lr"))
            parts.append(sched["policy"] + (f" max {_lr(peak)}" if peak is not None else ""))
        if config.get("num_iter"):
            parts.append(f"{int(config['num_iter'])} it")
    return parts


def run_label(kind: str, config: Mapping[str, Any] | None, name: str | None = None) -> str:
    """"range test · mlp · adam · digits · LR 1e-05→10", led by the name a run was recorded
    or renamed under: two runs that differ in optimizer, model or LR range never read alike."""
    parts = [KIND_NOUNS.get(kind, kind), *_what_differs(kind, config or {})]
    label = " · ".join(parts)
    if name and name.strip() and not name.startswith(_GENERIC):
        return f"{name.strip()} — {label}"
    return label


#: What a training's own name starts with that the run's description already says.
_CURVE_PREFIXES = ("preset: ", "designed: ", "baseline: ")


def curve_label(run_id: int, label: str) -> str:
    """One training of a stored run, as an overlay names it: "#12 fixed", "#12 Digits demo:
    triangular, 2 cycles". Short, because an overlay names ten of them in one legend; the
    run's number says which chip above (and which hover) holds the rest."""
    for prefix in _CURVE_PREFIXES:
        if label.startswith(prefix) and len(label) > len(prefix):
            label = label[len(prefix):]
            break
    return f"#{run_id} {label}"
