"""What the pages call the choices the logic validates by key: the schedules a suggestion
can be handed to, and the settings a sweep can vary (with Smith's advice for each)."""

from __future__ import annotations

__all__ = ["HANDOFF_LABELS", "SWEEP_PARAM_LABELS"]

#: ``clr_core.suggest.handoff.HANDOFF_POLICIES``, as the range-test page names them.
HANDOFF_LABELS = {
    "triangular": "CLR triangular",
    "one_cycle": "1cycle",
    "triangular2": "CLR triangular2",
    "exp_range": "CLR exp_range",
}

#: ``clr_core.setup.configs.SWEEP_PARAMS``, each with the paper's advice the sweeps page shows.
SWEEP_PARAM_LABELS = {
    "weight_decay": "Weight decay (Smith 2018: try 1e-3, 1e-4, 1e-5, 0; pick the largest that "
                    "still allows a high max_lr)",
    "batch_size": "Batch size (Smith 2018: larger batches allow larger learning rates)",
    "momentum": "Momentum (Smith 2018: test 0.9-0.99; cyclical 0.95 -> 0.85 works best)",
    "seed": "Seed: the same test repeated, to see how far each suggestion moves",
}
