"""The one set-up both runs share: device, precision, the step, and the way back.

Why one context: the range test and a training each worked out the device, the
mixed-precision policy and the `Stepper` on their own, and the range test also its seeded
RNG, its move to the device and its exact restore (issue 30). `prepared` does it once:
inside it the model is on the run's device in train mode and the step is ready; on the way
out a range test's model and optimizer are put back bit for bit, on the device they came
from, and the caller's RNG is given back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch

from clr_core.engine.device import precision_for
from clr_core.engine.loop import Stepper, model_device, resolve_device
from clr_core.engine.restore import Snapshot, move_optimizer_state

__all__ = ["prepared"]


def _put_back(model, optimizer, snap: Snapshot | None, home, dev) -> None:
    optimizer.zero_grad()
    if dev != home:
        model.to(home)
        move_optimizer_state(optimizer, home)
    if snap is not None:
        snap.restore(model, optimizer)


@contextlib.contextmanager
def prepared(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable,
             loader: Iterable, *, device, amp: bool | str, accumulation_steps: int = 1,
             batch_to_inputs: Callable | None = None, count_correct: bool = False,
             grad_clip_norm: float | None = None, grad_clip_value: float | None = None,
             go_home: bool = False, restore: bool = False,
             seed: int | None = None) -> Iterator[Stepper]:
    """The run's `Stepper` (its ``device`` and ``precision`` the resolved ones), the model
    on that device in train mode.

    A training leaves the model on its device (the weights to use). A range test
    (``go_home``) moves the model and its optimizer's state there and back, and with
    ``restore`` puts their weights, buffers and state back exactly (`restore.Snapshot`).
    ``seed``: torch seeded inside a forked RNG (cuda's too on a GPU), so the caller's RNG
    is left as it was."""
    home = model_device(model)
    dev = resolve_device(device, model)
    precision = precision_for(dev, amp)
    snap = Snapshot(model, optimizer) if restore else None
    with contextlib.ExitStack() as stack:
        if seed is not None:
            stack.enter_context(torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []))
            torch.manual_seed(seed)
        if not go_home:
            model.to(dev)
        else:
            # registered after fork_rng so it runs first: restore, then give the RNG back
            stack.callback(_put_back, model, optimizer, snap, home, dev)
            if dev != home:
                model.to(dev)
                move_optimizer_state(optimizer, dev)
        model.train()
        yield Stepper(model, optimizer, loss_fn, loader, device=dev, precision=precision,
                      accumulation_steps=accumulation_steps, batch_to_inputs=batch_to_inputs,
                      count_correct=count_correct, grad_clip_norm=grad_clip_norm,
                      grad_clip_value=grad_clip_value)
