"""Sharpness: the largest eigenvalue λmax of the loss's Hessian on one batch.

Gradient descent on a quadratic diverges once the LR passes 2/λmax (2(1+β)/λmax with heavy-ball
momentum β); Cohen et al., "Gradient Descent on Neural Networks Typically Occurs at the Edge of
Stability", 2021, found the same limit governs neural networks. Drawing it beside a range test
says *why* the loss blew up where it did.

Adam and AdamW step along P⁻¹·m with P = diag(√v̂ + ε) from the second-moment estimate, so
what limits them is the *preconditioned* sharpness λmax(P⁻¹H): Cohen et al., "Adaptive
Gradient Methods at the Edge of Stability", 2022, show that it rises to, and hovers at,
(2 + 2β1) / ((1 − β1)·η), the stability threshold of momentum β1 with the EMA-style update.
It is measured here as λmax of the symmetric P^{-1/2} H P^{-1/2}, which has the same
eigenvalues. SGD with Nesterov momentum has its own limit, 2(1+β)/((1+2β)·λmax). Other
optimizers get no limit (``optimizer_kind`` says "none"): no threshold of that form is derived
for them; `clr_core.suggest.families` holds the table and each reason.

λmax comes from power iteration on Hessian-vector products (Pearlmutter, "Fast Exact
Multiplication by the Hessian", 1994): one forward pass, one backward pass that keeps its graph,
then one double backward per iteration, never the Hessian itself.

The estimate is pure with respect to everything the caller owns:
- parameters and their ``.grad`` are untouched (``torch.autograd.grad`` never accumulates);
- buffers (BatchNorm's running statistics) are copied back after the forward pass;
- the module's train/eval mode is kept as found: in train mode BatchNorm normalises with the
  batch's statistics, which is the function the optimizer is stepping on, so that is the
  Hessian measured; in eval mode the running statistics are used;
- dropout masks are drawn once (a single forward pass is reused by every product) inside a
  forked RNG, so the caller's random stream is not advanced;
- autocast is switched off: the double backward runs in float32 whatever the AMP setting,
  because half-precision Hessian-vector products lose the digits power iteration needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from clr_core.errors import ConfigError
from clr_core.suggest.families import family_of, limit_reason
from clr_core.suggest.stability import LIMIT_KINDS, stability_limit

__all__ = ["LastBatch", "Sharpness", "SharpnessTracker", "adam_preconditioner",
           "hessian_max_eigenvalue", "limit_crossing", "no_limit_reason", "optimizer_kind"]


@dataclass(frozen=True)
class Sharpness:
    """One estimate; ``vector`` (unit norm, one tensor per parameter) warm-starts the next."""

    lambda_max: float
    vector: tuple[torch.Tensor, ...]
    iterations: int
    converged: bool
    loss: float


def optimizer_kind(optimizer) -> str:
    """The stability limit's kind for ``optimizer`` (`clr_core.suggest.families`): "gd"
    (SGD, heavy-ball or not), "nesterov" (SGD with Nesterov momentum), "adam" (Adam, AdamW)
    or "none" (no limit derived: NAdam, RAdam, RMSprop, Adagrad... and unknown classes)."""
    return family_of(optimizer).limit or "none"


def no_limit_reason(optimizer) -> str:
    """Why no limit is drawn for ``optimizer`` ("" when one is): its family's reason."""
    return limit_reason(family_of(optimizer), type(optimizer).__name__)


def optimizer_beta(optimizer) -> float:
    """β of the limit: SGD's momentum, Adam's β1 (of the first param group); for a family
    without such a β, or an unknown one, whichever of betas[0] and momentum the group has."""
    group = optimizer.param_groups[0]
    beta = family_of(optimizer).beta_value(group)
    if beta is not None:
        return beta
    if group.get("betas") is not None:
        return float(group["betas"][0])
    return float(group.get("momentum", 0.0) or 0.0)


def adam_preconditioner(optimizer, params) -> tuple[torch.Tensor, ...] | None:
    """P^{-1/2} per parameter, P = √v̂ + ε (v̂ Adam's bias-corrected second moment, its running
    maximum under AMSGrad, as torch's Adam divides by); None before the first step."""
    out = []
    for p in params:
        state = optimizer.state.get(p) or {}
        group = next(g for g in optimizer.param_groups if any(q is p for q in g["params"]))
        second = "max_exp_avg_sq" if group.get("amsgrad") else "exp_avg_sq"
        if second not in state:
            return None
        step = float(state["step"])
        v_hat = state[second].float() / (1.0 - group["betas"][1] ** step)
        out.append((v_hat.sqrt() + group["eps"]).rsqrt())
    return tuple(out)


def limit_crossing(rows, momentum: float, kind: str) -> float:
    """The first LR at which a sweep's LR reached its stability limit (rows of iteration, lr,
    λmax), log-interpolated between estimates; NaN when it never did or no limit applies."""
    if kind not in LIMIT_KINDS:
        return math.nan
    prev = None
    for _, lr, lam in rows:
        limit = stability_limit(lam, momentum, kind) if math.isfinite(lam) else math.nan
        if not math.isfinite(limit):
            continue
        if lr >= limit:
            if prev is None:
                return float(lr)
            a, b = math.log(prev[0] / prev[1]), math.log(lr / limit)
            t = a / (a - b) if a != b else 1.0
            return float(math.exp(math.log(prev[0]) + t * (math.log(lr) - math.log(prev[0]))))
        prev = (lr, limit)
    return math.nan


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    return sum((x * y).sum() for x, y in zip(a, b, strict=True))


def _norm(v: Sequence[torch.Tensor]) -> float:
    return float(torch.sqrt(_dot(v, v)))


def _power_iteration(hvp, start, shift: float, tol: float, max_iter: int):
    """Top eigenpair of H - shift·I by power iteration. It stops once the residual
    ‖Hv − λv‖ is within ``tol``·|λ|: the Rayleigh quotient's error is then of order
    tol²·λ²/gap, far tighter than a stop on λ's change, which stalls at a small gap.
    A vanishing product means a zero Hessian along v (λ = 0); a non-finite one, NaN."""
    v = tuple(x / _norm(start) for x in start)
    lam = math.nan
    for k in range(1, max_iter + 1):
        hv = hvp(v)
        if shift:
            hv = tuple(h - shift * x for h, x in zip(hv, v, strict=True))
        lam = float(_dot(hv, v))  # Rayleigh quotient: v has unit norm
        norm = _norm(hv)
        if norm == 0 or not math.isfinite(norm):
            return (0.0 if norm == 0 else math.nan), v, k, norm == 0
        residual = _norm([h - lam * x for h, x in zip(hv, v, strict=True)])
        v = tuple(h / norm for h in hv)
        if residual <= tol * abs(lam):
            return lam, v, k, True
    return lam, v, max_iter, False


def _hessian_vector_product(grads, params, scale=None):
    """v ↦ Hv by differentiating g·v (the graph of ``grads`` is kept for every call); with
    ``scale`` D (one tensor per parameter), v ↦ D·H·(D·v), the preconditioned product."""
    # A gradient without a graph is constant in the parameters: its Hessian rows are zero.
    live = [i for i, g in enumerate(grads) if g.requires_grad]

    def hvp(v):
        if scale is not None:
            v = tuple(d * x for d, x in zip(scale, v, strict=True))
        out = [torch.zeros_like(p, dtype=torch.float32) for p in params]
        if live:
            prods = torch.autograd.grad([grads[i] for i in live], params,
                                        grad_outputs=[v[i].to(grads[i].dtype) for i in live],
                                        retain_graph=True, allow_unused=True)
            for i, h in enumerate(prods):
                if h is not None:
                    out[i] = h.detach().float()
        if scale is not None:
            out = [d * h for d, h in zip(scale, out, strict=True)]
        return tuple(out)

    return hvp


def hessian_max_eigenvalue(
    model: torch.nn.Module,
    loss_fn: Callable,
    inputs,
    targets,
    *,
    init: Sequence[torch.Tensor] | None = None,
    tol: float = 1e-3,
    max_iter: int = 100,
    seed: int = 0,
    precondition: Sequence[torch.Tensor] | None = None,
) -> Sharpness:
    """λmax of the Hessian of ``loss_fn(model(inputs), targets)`` with respect to the
    trainable parameters. ``init`` (a previous estimate's ``vector``) warm-starts the
    iteration, so a slowly changing Hessian needs two or three products instead of tens.
    ``seed`` draws the random start when there is no ``init`` (a private generator).
    ``precondition`` (P^{-1/2} per parameter, `adam_preconditioner`): λmax of P⁻¹H."""
    if not tol > 0:
        raise ConfigError(f"tol must be > 0, got {tol}")
    if int(max_iter) < 2:
        raise ConfigError(f"max_iter must be >= 2, got {max_iter}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters")
    device = params[0].device
    gen = torch.Generator(device=device).manual_seed(int(seed))
    random_start = tuple(torch.randn(p.shape, generator=gen, device=device) for p in params)
    warm = init is not None and len(init) == len(params) and all(
        a.shape == p.shape for a, p in zip(init, params, strict=True))
    start = tuple(a.detach().to(device=device, dtype=torch.float32) for a in init) if warm \
        else random_start
    # BatchNorm's running statistics move in a train-mode forward and sit in the graph:
    # they are put back only after the last product.
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    fork = [device] if device.type == "cuda" else []
    try:
        # the fused attention kernels have no double backward: the math one is differentiable twice
        with (torch.random.fork_rng(devices=fork), torch.autocast(device.type, enabled=False),
              torch.enable_grad(), sdpa_kernel(SDPBackend.MATH)):
            loss = loss_fn(model(inputs), targets)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            scale = None if precondition is None else tuple(
                d.detach().to(device=device, dtype=torch.float32) for d in precondition)
            hvp = _hessian_vector_product(grads, params, scale)
            lam, v, k, converged = _power_iteration(hvp, start, 0.0, tol, int(max_iter))
            if lam < 0:  # also False for NaN
                # Power iteration found the most negative eigenvalue (the largest in
                # magnitude); on H - lam·I every eigenvalue is >= 0, the top one λmax - lam.
                top, v, k2, converged = _power_iteration(hvp, random_start, lam, tol,
                                                         int(max_iter))
                lam, k = top + lam, k + k2
    finally:
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
    return Sharpness(lambda_max=float(lam), vector=tuple(x.detach() for x in v), iterations=k,
                     converged=converged, loss=float(loss.detach()))


class LastBatch:
    """An iterable of batches that remembers the last one it handed out, so the sharpness
    is measured on the very batch the optimizer just stepped on (no extra draw from the
    loader: the sweep sees the same batches with and without it)."""

    def __init__(self, loader) -> None:
        self.loader = loader
        self.last = None

    def __iter__(self):
        for batch in self.loader:
            self.last = batch
            yield batch


class SharpnessTracker:
    """λmax every few updates of a run, each estimate warm-started from the previous one.
    A curve drawn on a log axis needs a few per cent, not the last digit: at most ``max_iter``
    Hessian-vector products per estimate, which the warm start brings close to the converged
    value, so the whole measurement costs less than the test itself (``bench/sharpness.py``
    measures both)."""

    def __init__(self, model: torch.nn.Module, loss_fn: Callable, *, tol: float = 1e-2,
                 max_iter: int = 8, optimizer=None) -> None:
        self.model, self.loss_fn = model, loss_fn
        self.optimizer = optimizer
        self.kind = "gd" if optimizer is None else optimizer_kind(optimizer)
        self.tol, self.max_iter = tol, max_iter
        self.rows: list[tuple[float, float, float]] = []
        self.products = 0
        self._vector = None

    def measure(self, iteration: int, lr: float, inputs, targets) -> float:
        scale = None
        if self.kind == "adam":
            params = [p for p in self.model.parameters() if p.requires_grad]
            scale = adam_preconditioner(self.optimizer, params)
            if scale is None:  # no second-moment estimate before the first step
                self.rows.append((float(iteration), float(lr), math.nan))
                return math.nan
        est = hessian_max_eigenvalue(self.model, self.loss_fn, inputs, targets,
                                     init=self._vector, tol=self.tol, max_iter=self.max_iter,
                                     precondition=scale)
        if math.isfinite(est.lambda_max):
            self._vector = est.vector
        self.products += est.iterations
        self.rows.append((float(iteration), float(lr), est.lambda_max))
        return est.lambda_max
