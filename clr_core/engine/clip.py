"""Gradient clipping as the real run does it, shared by the range test and training
through `clr_core.engine.loop.Stepper`."""

from __future__ import annotations

import torch

__all__ = ["GradClip"]


class GradClip:
    """Gradient clipping as the real run does it, after backward (and after AMP's
    ``unscale_``) and before ``optimizer.step()``: by the global norm over all the
    optimizer's parameters (``torch.nn.utils.clip_grad_norm_``, what Hugging Face's
    ``max_grad_norm`` and Lightning's ``gradient_clip_algorithm="norm"`` do) and/or
    elementwise by value (``clip_grad_value_``, Lightning's "value"). A range test
    measured without the clipping the training has can put the divergence a decade off
    (Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
    networks", 2013, for why clipping moves the unstable LR)."""

    __slots__ = ("max_norm", "max_value", "params")

    def __init__(self, optimizer: torch.optim.Optimizer, max_norm: float | None,
                 max_value: float | None) -> None:
        self.max_norm, self.max_value = max_norm, max_value
        self.params = [p for g in optimizer.param_groups for p in g["params"]]

    @property
    def active(self) -> bool:
        return self.max_norm is not None or self.max_value is not None

    def __call__(self) -> None:
        if self.max_value is not None:
            torch.nn.utils.clip_grad_value_(self.params, self.max_value)
        if self.max_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.max_norm)
