"""The stability limit, exactly: heavy-ball gradient descent on the 2-D quadratic bowl
f(x, y) = ½(λmax·x² + λmin·y²), λmax = 1, λmin = 1/κ.

Along an axis of curvature λ the iterate follows z² − (1 + β − ηλ)z + β = 0, so
- it diverges once η > 2(1 + β)/λmax (the edge of stability; 2/λmax without momentum);
- it is critically damped (fastest without oscillating) at η = (1 − √β)²/λ, where both roots
  equal √β; below that it crawls, above it it oscillates;
- the best rate over the whole bowl is Polyak's: η* = 4/(√λmax + √λmin)²,
  β* = ((√κ − 1)/(√κ + 1))² (Polyak, "Some methods of speeding up the convergence of iteration
  methods", 1964; drawn as in Goh, "Why Momentum Really Works", Distill 2017)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from clr_core.present.style import finish

__all__ = ["LAMBDA_MAX", "critical_lr", "descend", "divergence_lr", "optimal", "rate",
           "stability_figures"]

LAMBDA_MAX = 1.0
START = (-1.6, 1.2)


def divergence_lr(momentum: float, lambda_max: float = LAMBDA_MAX) -> float:
    """The LR above which heavy-ball GD diverges along the sharpest axis: 2(1+β)/λmax."""
    return 2.0 * (1.0 + momentum) / lambda_max


def critical_lr(momentum: float, curvature: float) -> float:
    """The LR that critically damps an axis of this curvature: (1 − √β)²/λ."""
    return (1.0 - math.sqrt(momentum)) ** 2 / curvature


def optimal(condition: float) -> tuple[float, float]:
    """Polyak's (η*, β*) for λmax = 1, λmin = 1/κ: the fastest worst-axis rate."""
    lam_min = LAMBDA_MAX / condition
    lr = 4.0 / (math.sqrt(LAMBDA_MAX) + math.sqrt(lam_min)) ** 2
    root = math.sqrt(condition)
    return lr, ((root - 1.0) / (root + 1.0)) ** 2


def rate(lr, momentum: float, curvature: float) -> np.ndarray:
    """Per-step contraction along one axis: the larger |root| of z² − (1+β−ηλ)z + β."""
    b = 1.0 + momentum - np.asarray(lr, dtype=float) * curvature
    disc = b * b - 4.0 * momentum
    real = np.sqrt(np.maximum(disc, 0.0))
    return np.where(disc >= 0, np.maximum(abs(b + real), abs(b - real)) / 2.0,
                    math.sqrt(momentum))


def descend(lr: float, momentum: float, condition: float, steps: int = 60) -> np.ndarray:
    """The heavy-ball path (steps+1, 2) from START; v ← βv − η∇f, w ← w + v."""
    h = np.array([LAMBDA_MAX, LAMBDA_MAX / condition])
    w = np.array(START, dtype=float)
    v = np.zeros(2)
    path = [w.copy()]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            v = momentum * v - lr * h * w
            w = w + v
            path.append(w.copy())
    return np.array(path)


def _loss(path: np.ndarray, condition: float) -> np.ndarray:
    h = np.array([LAMBDA_MAX, LAMBDA_MAX / condition])
    with np.errstate(over="ignore", invalid="ignore"):
        return 0.5 * (path ** 2 * h).sum(axis=1)


def stability_figures(lr: float, momentum: float, condition: float, steps: int = 60):
    """(path figure, rate-versus-LR figure, metrics) for the stability lesson."""
    path = descend(lr, momentum, condition, steps)
    loss = _loss(path, condition)
    limit = divergence_lr(momentum)
    lam_min = LAMBDA_MAX / condition

    # the bowl's contours and the path, clipped to the frame so a divergence still draws
    g = np.linspace(-2.0, 2.0, 41)
    xx, yy = np.meshgrid(g, g)
    zz = 0.5 * (LAMBDA_MAX * xx ** 2 + lam_min * yy ** 2)
    shown = path[np.all(np.isfinite(path), axis=1)]
    shown = shown[: np.argmax(np.any(np.abs(shown) > 3.0, axis=1)) + 1
                  if np.any(np.abs(shown) > 3.0) else len(shown)]
    bowl = go.Figure()
    bowl.add_trace(go.Contour(x=g, y=g, z=np.sqrt(zz), showscale=False, ncontours=14,
                              colorscale="Blues", reversescale=True, hoverinfo="skip",
                              contours={"coloring": "lines"}, name="f"))
    bowl.add_trace(go.Scatter(x=shown[:, 0], y=shown[:, 1], mode="lines+markers", name="path",
                              line={"color": "#d62728", "width": 2}, marker={"size": 5},
                              hovertemplate="step %{pointNumber}<br>x %{x:.3g}<br>y %{y:.3g}"
                                            "<extra></extra>"))
    bowl.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="minimum",
                              marker={"symbol": "x", "size": 12, "color": "black"}))
    bowl.update_layout(height=420, margin={"l": 64, "r": 16, "t": 48, "b": 58},
                       title="Path of gradient descent (sharp axis: x)", showlegend=False)
    bowl.update_xaxes(range=[-2, 2], title_text="x (curvature λmax = 1)")
    bowl.update_yaxes(range=[-2, 2], title_text=f"y (curvature 1/κ = {lam_min:.3g})",
                      scaleanchor="x", scaleratio=1)

    lrs = np.geomspace(1e-3, 10.0, 250)
    worst = np.maximum(rate(lrs, momentum, LAMBDA_MAX), rate(lrs, momentum, lam_min))
    rates = go.Figure()
    rates.add_trace(go.Scatter(x=lrs, y=worst, mode="lines", name="slowest axis rate",
                               line={"color": "#1f77b4", "width": 3},
                               hovertemplate="lr %{x:.3g}<br>rate %{y:.4f}<extra></extra>"))
    # shapes as plain dicts in one update: plotly's add_vline re-lays the figure out per line
    shapes = [{"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": 1.0,
               "y1": 1.5, "fillcolor": "red", "opacity": 0.08, "line": {"width": 0}}]
    marks = [(limit, f"2(1+β)/λmax = {limit:.3g}", "#d62728"),
             (critical_lr(momentum, LAMBDA_MAX), "sharp axis oscillates above "
              f"{critical_lr(momentum, LAMBDA_MAX):.3g} (critical damping)", "#2ca02c"),
             (critical_lr(momentum, lam_min), "flat axis crawls below "
              f"{critical_lr(momentum, lam_min):.3g} (critical damping)", "#9467bd")]
    for x, text, color in marks:
        shapes.append({"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "paper",
                       "y0": 0, "y1": 1, "line": {"color": color, "dash": "dash", "width": 2}})
        rates.add_trace(go.Scatter(x=[x], y=[None], mode="lines", name=text,
                                   line={"color": color, "dash": "dash"}))
    current = float(max(rate(lr, momentum, LAMBDA_MAX), rate(lr, momentum, lam_min)))
    rates.add_trace(go.Scatter(x=[lr], y=[min(current, 1.5)], mode="markers", name="your LR",
                               marker={"size": 14, "color": "black", "symbol": "diamond"}))
    rates.update_layout(shapes=shapes, margin={"t": 48},
                        title="Contraction per step (≥ 1: diverges)")
    rates.update_xaxes(type="log", title_text="learning rate")
    rates.update_yaxes(range=[0, 1.5], title_text="rate")
    finish(rates, plot_height=330)
    finish(bowl)

    final = float(loss[-1])
    verdict = ("diverges" if not (math.isfinite(final) and lr < limit) else
               "converges")
    best_lr, best_beta = optimal(condition)
    metrics = [
        ("your LR", f"{lr:.4g} — {verdict}"),
        ("largest stable LR, 2(1+β)/λmax", f"{limit:.4g}"),
        ("rate per step", f"{current:.4f}"),
        ("Polyak's best (LR, momentum)", f"{best_lr:.3g}, {best_beta:.3f}"),
    ]
    return bowl, rates, metrics
