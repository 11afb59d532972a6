"""Warmup-stable-decay, on the noisy quadratic model, where the expected loss is exact.

SGD on ½Σ hᵢwᵢ² with gradient noise of variance c·hᵢ per axis (Zhang et al., "Which Algorithmic
Choices Matter at Which Batch Sizes? Insights From a Noisy Quadratic Model", 2019) has, along
each axis, E[w²] ← (1 − ηh)²E[w²] + η²ch: the loss splits into a part that the *sum* of LRs
shrinks (progress down the flat axes) and a noise floor proportional to the *current* LR. A
high constant LR makes progress but sits on a high floor; the cool-down lowers the floor in a
few hundred steps and keeps the progress, so the loss drops sharply at the end — from whichever
point of the stable phase it is branched (Hägele et al., "Scaling Laws and Compute-Optimal
Training Beyond Fixed Training Durations", 2024; Hu et al., "MiniCPM", 2024)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from clr_core.plots import PALETTE

__all__ = ["COOLDOWN_SHAPES", "cosine_lr", "expected_loss", "wsd_figures", "wsd_lr"]

COOLDOWN_SHAPES = ("linear", "1-sqrt", "cosine")
CURVATURES = 1.0 / np.arange(1, 101)  # Zhang et al.'s spectrum: hᵢ = 1/i
NOISE = 0.02
START = 1.0  # every wᵢ starts at 1


def _cooldown(frac: np.ndarray, shape: str) -> np.ndarray:
    """The LR multiplier, from 1 at frac=0 to 0 at frac=1."""
    frac = np.clip(frac, 0.0, 1.0)
    if shape == "1-sqrt":
        return 1.0 - np.sqrt(frac)
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(np.pi * frac))
    return 1.0 - frac


def wsd_lr(total_steps: int, peak: float, *, warmup: int, decay_start: int,
           shape: str = "linear") -> np.ndarray:
    """LR of every step: linear warmup to ``peak``, constant, cool-down from ``decay_start``
    to zero at ``total_steps``."""
    k = np.arange(total_steps, dtype=float)
    lr = np.full(total_steps, float(peak))
    if warmup > 0:
        lr = np.where(k < warmup, peak * (k + 1) / warmup, lr)
    length = max(total_steps - decay_start, 1)
    return np.where(k >= decay_start, peak * _cooldown((k - decay_start + 1) / length, shape), lr)


def cosine_lr(total_steps: int, peak: float, *, warmup: int) -> np.ndarray:
    """The usual baseline: the same warmup, then a cosine to zero at ``total_steps``."""
    k = np.arange(total_steps, dtype=float)
    frac = (k - warmup + 1) / max(total_steps - warmup, 1)
    return np.where(k < warmup, peak * (k + 1) / max(warmup, 1), peak * _cooldown(frac, "cosine"))


def expected_loss(lrs: np.ndarray, state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(expected loss after every step, final E[w²] per axis); ``state`` continues a run.
    ``lrs`` of shape (steps, runs) advances several runs at once (``state``: (runs, axes))."""
    lrs = np.asarray(lrs, dtype=float)
    runs = lrs.shape[1:]
    m = np.full(runs + (len(CURVATURES),), START ** 2) if state is None else state.copy()
    out = np.empty(lrs.shape)
    h, ch = CURVATURES, NOISE * CURVATURES
    for t in range(len(lrs)):
        lr = lrs[t][..., None] if runs else lrs[t]
        m = (1.0 - lr * h) ** 2 * m + lr * lr * ch
        out[t] = m @ h
    return 0.5 * out, m


def _states(lrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loss after every step, E[w²] after every step) of one run."""
    m = np.full(len(CURVATURES), START ** 2)
    states = np.empty((len(lrs), len(CURVATURES)))
    h, ch = CURVATURES, NOISE * CURVATURES
    for t, lr in enumerate(np.asarray(lrs, dtype=float)):
        m = (1.0 - lr * h) ** 2 * m + lr * lr * ch
        states[t] = m
    return 0.5 * states @ h, states


def wsd_figures(peak: float, total_steps: int, branch_at: float, cooldown: float, shape: str):
    """(LR figure, loss figure, metrics): a constant-LR run, cool-downs branched from four
    points of the stable phase and from the slider's ``branch_at`` (a fraction of the run),
    and the cosine baseline with the same length as the chosen branch."""
    warmup = max(1, total_steps // 20)
    length = max(1, int(round(cooldown * total_steps)))
    constant = np.where(np.arange(total_steps) < warmup,
                        peak * (np.arange(total_steps) + 1) / warmup, peak)
    starts = sorted({int(round(f * total_steps)) for f in (0.25, 0.5, 0.75)}
                    | {int(round(branch_at * total_steps))})
    chosen = min(max(int(round(branch_at * total_steps)), warmup), total_steps)
    starts = sorted({min(max(s, warmup), total_steps) for s in starts} | {chosen})

    const_loss, states = _states(constant)
    decay = peak * _cooldown(np.arange(1, length + 1) / length, shape)
    branch_loss, _ = expected_loss(np.repeat(decay[:, None], len(starts), axis=1),
                                   states[np.array(starts) - 1])
    cos_loss, _ = expected_loss(cosine_lr(chosen + length, peak, warmup=warmup))

    lr_fig, loss_fig = go.Figure(), go.Figure()
    k = np.arange(total_steps)
    lr_fig.add_trace(go.Scatter(x=k, y=constant, name="stable (constant)",
                                line={"color": "#7f7f7f", "width": 2}))
    loss_fig.add_trace(go.Scatter(x=k, y=const_loss, name="stable (constant)",
                                  line={"color": "#7f7f7f", "width": 2}))
    for j, s in enumerate(starts):
        x = np.arange(s, s + length)
        emphasis = s == chosen
        color = "#d62728" if emphasis else PALETTE[(j + 2) % len(PALETTE)]
        width = 4 if emphasis else 1.5
        name = f"cool-down from {s}" + (" (yours)" if emphasis else "")
        lr_fig.add_trace(go.Scatter(x=x, y=decay, name=name, line={"color": color, "width": width}))
        loss_fig.add_trace(go.Scatter(x=x, y=branch_loss[:, j], name=name,
                                      line={"color": color, "width": width}))
    loss_fig.add_trace(go.Scatter(x=np.arange(chosen + length), y=cos_loss,
                                  name=f"cosine over {chosen + length} steps",
                                  line={"color": "#1f77b4", "dash": "dash", "width": 2}))
    mine = branch_loss[-1, starts.index(chosen)]
    metrics = [
        ("loss at the branch point", f"{const_loss[chosen - 1]:.4g}"),
        ("after the cool-down", f"{mine:.4g}"),
        (f"cosine, same {chosen + length} steps", f"{cos_loss[-1]:.4g}"),
    ]
    for fig, title, y in ((lr_fig, "Learning rate", "learning rate"),
                          (loss_fig, "Expected loss (noisy quadratic model, exact)", "loss")):
        fig.update_layout(height=340, title=title, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                          legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0})
        fig.update_xaxes(title_text="step")
        fig.update_yaxes(title_text=y, type="log" if y == "loss" else "linear")
    return lr_fig, loss_fig, metrics
