"""Put a model and its optimizer back exactly as they were before a range test.

Parameters, buffers (persistent or not), gradients, ``requires_grad`` flags (a model may
freeze or unfreeze its own layers mid-sweep), train/eval flags, the optimizer's
state and every group's hyper-parameters are copied to CPU memory before the sweep and
copied back afterwards (in a ``finally``, so after a cancel or an exception too).
Nothing is duplicated on the accelerator: a model that fills a GPU can still be tested.
"""

from __future__ import annotations

import torch

__all__ = ["Snapshot", "move_optimizer_state"]


def _cpu_copy(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True)


class Snapshot:
    """Everything the sweep changes, copied to CPU memory (never a second copy on
    the accelerator), put back bit for bit by ``restore``."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.params = {}
        self.grads = {}
        self.requires_grad = {}
        for name, p in model.named_parameters():
            self.params[name] = _cpu_copy(p)
            self.requires_grad[name] = p.requires_grad
            self.grads[name] = None if p.grad is None else _cpu_copy(p.grad)
        self.buffers = {name: _cpu_copy(b) for name, b in model.named_buffers()}
        self.training = [m.training for m in model.modules()]
        self.groups = []
        for g in optimizer.param_groups:
            saved = {}
            for k, v in g.items():
                if k == "params":
                    continue
                if isinstance(v, torch.Tensor):
                    saved[k] = (v, v.detach().clone())
                elif isinstance(v, (list, dict)):
                    saved[k] = (None, _deep_copy_plain(v))
                else:
                    saved[k] = (None, v)
            self.groups.append(saved)
        self.state = {}
        for p, st in optimizer.state.items():
            self.state[p] = {
                k: ((_cpu_copy(v), v.device) if isinstance(v, torch.Tensor) else _deep_copy_plain(v))
                for k, v in st.items()
            }
        self.state_keys_are_tensors = {
            p: {k for k, v in st.items() if isinstance(v, torch.Tensor)} for p, st in optimizer.state.items()
        }

    @torch.no_grad()
    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        for name, p in model.named_parameters():
            if name in self.params:
                p.copy_(self.params[name])
                p.requires_grad_(self.requires_grad[name])
                g = self.grads[name]
                if g is None:
                    p.grad = None
                elif p.grad is None:
                    p.grad = g.to(p.device)
                else:
                    p.grad.copy_(g)
        for name, b in model.named_buffers():
            if name in self.buffers:
                b.copy_(self.buffers[name])
        for m, flag in zip(model.modules(), self.training, strict=False):
            m.training = flag
        for g, saved in zip(optimizer.param_groups, self.groups, strict=False):
            for k in [k for k in g if k != "params" and k not in saved]:
                del g[k]
            for k, (orig, val) in saved.items():
                if orig is not None:
                    orig.copy_(val)
                    g[k] = orig
                else:
                    g[k] = _deep_copy_plain(val)
        optimizer.state.clear()
        for p, st in self.state.items():
            tens = self.state_keys_are_tensors[p]
            optimizer.state[p] = {
                k: (v[0].to(v[1], copy=True) if k in tens else _deep_copy_plain(v)) for k, v in st.items()
            }


def _deep_copy_plain(v):
    if isinstance(v, dict):
        return {k: _deep_copy_plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deep_copy_plain(x) for x in v]
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    return v


def move_optimizer_state(optimizer, device) -> None:
    """Follow the model to ``device``: per-parameter buffers (momentum, moments) must
    sit with their parameter; 0-d entries such as Adam's ``step`` stay where they are."""
    for st in optimizer.state.values():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.ndim > 0:
                st[k] = v.to(device)
