"""Warmup-stable-decay, on the noisy quadratic model, where the expected loss is exact.

SGD on ½Σ hᵢwᵢ² with gradient noise of variance c·hᵢ per axis (Zhang et al., "Which Algorithmic
Choices Matter at Which Batch Sizes? Insights From a Noisy Quadratic Model", 2019) has, along
each axis, E[w²] ← (1 − ηh)²E[w²] + η²ch: the loss splits into a part that the *sum* of LRs
shrinks (progress down the flat axes) and a noise floor proportional to the *current* LR. A
high constant LR makes progress but sits on a high floor; the cool-down lowers the floor in a
few hundred steps but its smaller steps buy less progress, so where the floor is what holds
the loss up it drops sharply at the end — from whichever point of the stable phase it is
branched (Hägele et al., "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
Durations", 2024; Hu et al., "MiniCPM", 2024). The schedules
are `clr_core.schedules`' wsd, warmup_cosine and warmup_constant (transformers' formulas)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from clr_core.present.style import PALETTE, POLICY_COLORS, color_for, finish
from clr_core.schedules import make_schedule

__all__ = ["REL_TIE", "cooldown_lr", "cosine_lr", "expected_loss", "stable_lr",
           "wsd_figures", "wsd_summary"]

CURVATURES = 1.0 / np.arange(1, 101)  # Zhang et al.'s spectrum: hᵢ = 1/i
NOISE = 0.02
START = 1.0  # every wᵢ starts at 1
#: Two expected losses within this fraction of each other are "about the same": the model is
#: exact (no seeds), so the margin only keeps a sentence from ranking rounding noise.
REL_TIE = 0.01


def cooldown_lr(peak: float, *, branch: int, length: int, warmup: int, shape: str) -> np.ndarray:
    """The LR of the ``length`` cool-down steps of a WSD run branched at step ``branch``."""
    sched = make_schedule("wsd", max_lr=peak, total_steps=branch + length, warmup_steps=warmup,
                          decay_steps=length, decay_shape=shape)
    return sched.lr(np.arange(branch, branch + length))


def cosine_lr(peak: float, *, total_steps: int, warmup: int) -> np.ndarray:
    """The usual baseline: the same warm-up, then a cosine to zero at ``total_steps``."""
    return make_schedule("warmup_cosine", max_lr=peak, total_steps=total_steps,
                         warmup_steps=warmup).lr(np.arange(total_steps))


def stable_lr(peak: float, *, total_steps: int, warmup: int) -> np.ndarray:
    """Warm-up, then the constant LR of the stable phase."""
    return make_schedule("warmup_constant", max_lr=peak, warmup_steps=warmup).lr(
        np.arange(total_steps))


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
    """(loss after every step, E[w²] after every step) of one run. Where the LR stays
    constant the recursion has a closed form, E[w²]ₜ = m* + aᵗ(E[w²]₀ − m*) with
    a = (1 − ηh)², m* = η²ch/(1 − a), so the stable phase costs one vectorised step."""
    lrs = np.asarray(lrs, dtype=float)
    h, ch = CURVATURES, NOISE * CURVATURES
    states = np.empty((len(lrs), len(h)))
    m = np.full(len(h), START ** 2)
    t = 0
    while t < len(lrs):
        run = t + 1
        while run < len(lrs) and lrs[run] == lrs[t]:
            run += 1
        lr = lrs[t]
        a = (1.0 - lr * h) ** 2
        if run - t > 1 and np.all(a < 1.0):
            fixed = lr * lr * ch / (1.0 - a)
            powers = a[None, :] ** np.arange(1, run - t + 1)[:, None]
            states[t:run] = fixed + powers * (m - fixed)
        else:
            for k in range(t, run):
                m = a * m + lr * lr * ch
                states[k] = m
        m = states[run - 1]
        t = run
    return 0.5 * states @ h, states


def wsd_figures(peak: float, total_steps: int, branch_at: float, cooldown: float, shape: str):
    """(LR figure, loss figure, metrics, summary): a constant-LR run, cool-downs branched
    from four points of the stable phase and from the slider's ``branch_at`` (a fraction of
    the run), and the cosine baseline with the same length as the chosen branch. The
    constant run is drawn as far as the last cool-down ends, so the summary (`wsd_summary`)
    compares each end with a loss the chart shows."""
    warmup = max(1, total_steps // 20)
    length = max(1, int(round(cooldown * total_steps)))
    starts = sorted({int(round(f * total_steps)) for f in (0.25, 0.5, 0.75)}
                    | {int(round(branch_at * total_steps))})
    chosen = min(max(int(round(branch_at * total_steps)), warmup), total_steps)
    starts = sorted({min(max(s, warmup), total_steps) for s in starts} | {chosen})
    horizon = max(total_steps, starts[-1] + length)
    constant = stable_lr(peak, total_steps=horizon, warmup=warmup)

    const_loss, states = _states(constant)
    decay = cooldown_lr(peak, branch=chosen, length=length, warmup=warmup, shape=shape)
    branch_loss, _ = expected_loss(np.repeat(decay[:, None], len(starts), axis=1),
                                   states[np.array(starts) - 1])
    cos_loss, _ = expected_loss(cosine_lr(peak, total_steps=chosen + length, warmup=warmup))

    lr_fig, loss_fig = go.Figure(), go.Figure()
    k = np.arange(horizon)
    lr_fig.add_trace(go.Scatter(x=k, y=constant, name="stable (constant)",
                                line={"color": "#7f7f7f", "width": 2}))
    loss_fig.add_trace(go.Scatter(x=k, y=const_loss, name="stable (constant)",
                                  line={"color": "#7f7f7f", "width": 2}))
    for j, s in enumerate(starts):
        x = np.arange(s, s + length)
        emphasis = s == chosen
        color = POLICY_COLORS["wsd"] if emphasis else PALETTE[(j + 3) % len(PALETTE)]
        width = 4 if emphasis else 1.5
        name = f"cool-down from {s}" + (" (yours)" if emphasis else "")
        lr_fig.add_trace(go.Scatter(x=x, y=decay, name=name, line={"color": color, "width": width}))
        loss_fig.add_trace(go.Scatter(x=x, y=branch_loss[:, j], name=name,
                                      line={"color": color, "width": width}))
    loss_fig.add_trace(go.Scatter(x=np.arange(chosen + length), y=cos_loss,
                                  name=f"cosine over {chosen + length} steps",
                                  line={"color": color_for("cosine"), "dash": "dash", "width": 2}))
    mine = branch_loss[-1, starts.index(chosen)]
    end = chosen + length
    metrics = [
        ("loss at the branch point", f"{const_loss[chosen - 1]:.4g}"),
        ("after the cool-down", f"{mine:.4g}"),
        (f"constant LR at step {end}", f"{const_loss[end - 1]:.4g}"),
        (f"cosine, same {end} steps", f"{cos_loss[-1]:.4g}"),
    ]
    summary = wsd_summary(branch=chosen, length=length, at_branch=float(const_loss[chosen - 1]),
                          after=float(mine), constant=float(const_loss[end - 1]),
                          cosine=float(cos_loss[-1]))
    for fig, title, y in ((lr_fig, "Learning rate", "learning rate"),
                          (loss_fig, "Expected loss (noisy quadratic model, exact)", "loss")):
        fig.update_layout(title=title, margin={"t": 48})
        fig.update_xaxes(title_text="step")
        fig.update_yaxes(title_text=y, type="log" if y == "loss" else "linear")
        finish(fig, plot_height=280)
    return lr_fig, loss_fig, metrics, summary


def _compare(mine: float, other: float) -> str:
    """"12 % lower" / "30 % higher" / "about the same (within 1 %)"."""
    if abs(mine - other) <= REL_TIE * max(abs(other), 1e-300):
        return f"about the same (within {REL_TIE:.0%})"
    change = (mine - other) / other
    return f"{abs(change):.0%} {'lower' if change < 0 else 'higher'}"


def wsd_summary(*, branch: int, length: int, at_branch: float, after: float, constant: float,
                cosine: float) -> str:
    """The lesson's finding for these settings, from the losses its chart draws: what the
    cool-down did, whether it ends below the constant LR at the same step (it lowers the
    noise floor but slows the progress, so at a low peak it can end higher) and below cosine
    of the same length (Hägele et al. 2024's claim)."""
    end = branch + length
    text = (f"Cooling down from step {branch} over {length} steps takes the expected loss "
            f"from {at_branch:.4g} to {after:.4g} ({_compare(after, at_branch)}). ")
    versus = _compare(after, constant)
    text += f"The constant LR is at {constant:.4g} by step {end}: the cool-down ends {versus}"
    if versus.endswith("lower"):
        text += (" — the noise floor it lowered outweighed the progress its smaller steps "
                 "gave up.")
    elif versus.endswith("higher"):
        text += (" — its smaller steps gave up more progress than lowering the noise floor "
                 "won: the loss was still far above the floor.")
    else:
        text += "."
    versus = _compare(after, cosine)
    text += (f" Cosine over the same {end} steps ends at {cosine:.4g}: WSD ends {versus}"
             + (", as Hägele et al. found." if versus.endswith("lower") else
                "; here cosine wins." if versus.endswith("higher") else "."))
    return text
