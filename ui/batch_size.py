"""The batch-size rescaling suggestion where an LR meets a new batch size: the range test's
hand-off and the designer. Shown, never applied (`clr_core.suggest.batch_size`)."""

from __future__ import annotations

import streamlit as st

from clr_core.errors import ConfigError
from clr_core.suggest.batch_size import OPTIMIZER_LABELS, OPTIMIZER_NAMES, BatchRescale, rescale_lr
from ui.state import default
from ui.text import shown


def rescale_suggestion(lr: float, tested_batch: int, optimizer: str, *,
                       key: str) -> BatchRescale | None:
    """A "train at batch size" input beside an LR found at ``tested_batch``; when it differs,
    the rule's suggestion is shown (and returned), the LR left as it is."""
    new = st.number_input(f"Train at batch size (the test ran at {tested_batch})", min_value=1,
                          step=1, key=default(key, int(tested_batch)),
                          help="Only a suggestion: the LR is not changed. Linear rule for SGD "
                               "(Goyal et al. 2017), square root for Adam-family optimizers "
                               "(Malladi et al. 2022).")
    if int(new) == int(tested_batch):
        return None
    try:
        out = rescale_lr(lr, int(tested_batch), int(new), optimizer)
    except ConfigError as e:
        st.error(shown(e), icon="🚫")
        return None
    st.info(out.text, icon="📏")
    return out


def designer_rescale(max_lr: float, *, key: str) -> None:
    """The designer's form of it: the batch the LR was found at, the new one, the optimizer."""
    c1, c2 = st.columns(2)
    tested = c1.number_input("LR found at batch", min_value=1, step=1,
                             key=default(f"{key}.tested", 128))
    new = c2.number_input("New batch", min_value=1, step=1, key=default(f"{key}.new", 128))
    # on its own row, as on the training forms: no optimizer's name is cut short
    optimizer = st.selectbox("Optimizer", OPTIMIZER_NAMES, key=f"{key}.optimizer",
                             format_func=OPTIMIZER_LABELS.get)
    if int(new) != int(tested):
        st.info(rescale_lr(max_lr, int(tested), int(new), optimizer).text, icon="📏")
    else:
        st.caption("Change the batch size to see the LR the linear (SGD) or square-root "
                   "(Adam-family) rule suggests for it; nothing is applied.")
