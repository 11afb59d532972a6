"""An LR found at one batch size, rescaled for another: offered, never applied silently.

Two published rules, by optimizer family:

* **linear** for SGD (with or without momentum): k times the batch, k times the LR
  (Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017);
* **square root** for adaptive optimizers (Adam, AdamW, RMSprop, Adagrad): k times the
  batch, sqrt(k) times the LR (Malladi et al., "On the SDEs and Scaling Rules for Adaptive
  Gradient Algorithms", 2022).

Both are approximations that hold while the batch stays below the critical batch size;
the text says so, and a range test at the new batch size is the check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from clr_core.errors import ConfigError
from clr_core.suggest.families import family_by_name
from clr_core.validation import check_int, check_number

__all__ = ["OPTIMIZER_LABELS", "OPTIMIZER_NAMES", "RULES", "BatchRescale", "rescale_lr", "rule_for"]

#: The optimizers the app offers, by family (the designer's choice; no torch needed).
OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "rmsprop", "sgd_schedulefree", "adamw_schedulefree")
#: Their names as the pages show them (``clr_core.setup.optim.OPTIMIZERS``' labels, here
#: without importing torch: the designer draws before it loads).
OPTIMIZER_LABELS = {"sgd": "SGD (momentum)", "adam": "Adam", "adamw": "AdamW",
                    "rmsprop": "RMSprop", "sgd_schedulefree": "Schedule-free SGD",
                    "adamw_schedulefree": "Schedule-free AdamW"}

#: Rule name -> (exponent of the batch ratio, source).
RULES = {
    "linear": (1.0, 'Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", '
                    "2017"),
    "sqrt": (0.5, 'Malladi et al., "On the SDEs and Scaling Rules for Adaptive Gradient '
                  'Algorithms", 2022'),
}
_SGD_FAMILY = ("sgd", "sgd_schedulefree", "sgdschedulefree", "nesterov")


def rule_for(optimizer: str) -> str:
    """"linear" for the SGD family (every family `clr_core.suggest.families` marks not
    adaptive: SGD, Nesterov, ASGD, SGDW, schedule-free SGD), "sqrt" for every other."""
    if not isinstance(optimizer, str) or not optimizer:
        raise ConfigError(f"optimizer must be a name such as 'sgd' or 'adamw', got {optimizer!r}")
    sgd = optimizer.lower() in _SGD_FAMILY or family_by_name(optimizer).adaptive is False
    return "linear" if sgd else "sqrt"


@dataclass(frozen=True)
class BatchRescale:
    """The suggestion: ``lr`` at ``new_batch`` (``factor`` times the tested LR) by ``rule``;
    ``text`` says it, its source and its limits."""

    lr: float
    factor: float
    rule: str
    tested_batch: int
    new_batch: int
    text: str

    def scale(self, lr: float) -> float:
        """Another LR of the same run (say base_lr) rescaled by the same factor."""
        return float(lr) * self.factor


def rescale_lr(lr: float, tested_batch: int, new_batch: int, optimizer: str) -> BatchRescale:
    """``lr`` (found at ``tested_batch``) suggested for ``new_batch`` by the rule of the
    ``optimizer``'s family (see the module doc)."""
    lr = check_number("lr", lr, lo=0.0, lo_open=True)
    tested_batch = check_int("tested batch size", tested_batch, lo=1)
    new_batch = check_int("new batch size", new_batch, lo=1)
    rule = rule_for(optimizer)
    power, source = RULES[rule]
    k = new_batch / tested_batch
    factor = k ** power
    new_lr = lr * factor
    if new_batch == tested_batch:
        text = f"Same batch size ({new_batch}): the LR stays {lr:.3g}."
    else:
        how = "linear rule" if rule == "linear" else "square-root rule"
        scaled = f"× {k:g}" if rule == "linear" else f"× √{k:g}"
        name = OPTIMIZER_LABELS.get(optimizer.lower(), optimizer)
        text = (f"Batch {tested_batch} → {new_batch} with {name}: the {how} ({source}) "
                f"suggests LR {lr:.3g} {scaled} = **{new_lr:.3g}**. A suggestion, not applied: "
                "it holds while the batch stays below the critical batch size; a range test at "
                "the new batch size checks it.")
        if rule == "linear" and k > 1:
            text += " Goyal et al. pair it with a warm-up (5 epochs) from the old LR."
    if not math.isfinite(new_lr):
        raise ConfigError(f"the rescaled LR is not finite ({new_lr}); check the batch sizes")
    return BatchRescale(lr=new_lr, factor=factor, rule=rule, tested_batch=tested_batch,
                        new_batch=new_batch, text=text)
