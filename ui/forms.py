"""The data / model / optimizer form every run page shares."""

from __future__ import annotations

import streamlit as st

from clr_core.engine.device import amp_available, available_devices, pick_device
from clr_core.errors import ConfigError
from clr_core.setup import data, data_catalogue, models, optim, plugins
from clr_core.trackers import operator
from ui.plugins import choice_label
from ui.state import default
from ui.text import shown as shown_text
from ui.widgets import float_input, int_input


def data_model_form(prefix: str, errors: list[str], *, exclude: tuple[str, ...] = ()) -> dict:
    """Draw the shared fields (keys prefixed by `prefix`) and return them as a config dict.

    `exclude` leaves out fields a page sweeps over itself (e.g. weight_decay)."""
    out: dict = {}
    names = [*data_catalogue.DATASETS, *plugins.names("data")]
    out["dataset"] = st.selectbox(
        "Data set", names, key=default(f"{prefix}.dataset", "digits"),
        format_func=lambda n: choice_label("data", n, getattr(data_catalogue.DATASETS.get(n), "label", None)),
        help="digits ships with scikit-learn and works offline; torchvision sets are read "
             "from the data folder (CLR_STUDIO_DATA) or downloaded when you tick the box.")
    if out["dataset"] not in data_catalogue.DATASETS:
        st.caption("Your plugin's loaders are used as they are: their batch size and order.")
    elif out["dataset"] != "digits":
        out["data_root"] = st.text_input("Data folder", key=f"{prefix}.data_root",
                                         placeholder="default: the data root (CLR_STUDIO_DATA)") or None
        out["download"] = st.checkbox("Download if missing", key=f"{prefix}.download")
        st.caption(shown_text(data.dataset_status(out["dataset"], out.get("data_root"))))
    # the model on its own row: its labels ("MLP (2 hidden layers)") are never cut short
    model_names = [*models.MODELS, *plugins.names("model")]
    out["model"] = st.selectbox("Model", model_names, key=default(f"{prefix}.model", "mlp"),
                                format_func=lambda n: choice_label(
                                    "model", n, getattr(models.MODELS.get(n), "label", None)))
    opt_names = list(optim.OPTIMIZERS)
    # its own row too: "SGD (momentum)", "AdamW (decoupled weight decay)" are never cut short
    out["optimizer"] = st.selectbox("Optimizer", opt_names, key=default(f"{prefix}.optimizer", "sgd"),
                                   format_func=lambda n: optim.OPTIMIZERS[n].label,
                                   help="AdamW decouples weight decay from the adaptive step "
                                        "(Loshchilov & Hutter 2019): what transformers and ViTs "
                                        "train with.")
    if "batch_size" not in exclude:
        batch = int_input("Batch size", f"{prefix}.batch_size", 64, min_value=1,
                          max_value=65_536, errors=errors, container=st.container())
        if batch is not None:
            out["batch_size"] = batch
    shown = [f for f in ("weight_decay", "momentum") if f not in exclude]
    cols = st.columns(len(shown)) if shown else []
    c4, c5 = (cols[0], cols[-1]) if cols else (None, None)  # no gap where a sweep's field was
    if "weight_decay" not in exclude:
        with c4:
            wd = float_input("Weight decay", f"{prefix}.weight_decay", 0.0, errors=errors)
        if wd is not None:
            out["weight_decay"] = wd
    if "momentum" not in exclude:
        with c5:
            adam = out["optimizer"] in ("adam", "adamw")  # the same field: Adam's is its β1
            mom = float_input("β1 (momentum)" if adam else "Momentum", f"{prefix}.momentum", 0.9,
                              errors=errors, help="SGD/RMSprop momentum; beta1 for Adam and AdamW.")
        if mom is not None:
            out["momentum"] = mom
    if out["optimizer"] in ("adam", "adamw"):
        with c5 or st.container():
            beta2 = float_input("β2 (second moment)", f"{prefix}.beta2", 0.999, errors=errors,
                                help="Adam's second-moment decay: 0.999 by default, 0.95 to 0.98 "
                                     "for transformers (steadier at high LR).")
        if beta2 is not None:
            out["beta2"] = beta2
    devices = ["auto", *available_devices()]
    out["device"] = st.selectbox("Device", devices, key=f"{prefix}.device",
                                 help="auto picks cuda, then mps, else cpu.")
    with st.expander("More"):
        seed = int_input("Seed", f"{prefix}.seed", 0, min_value=0, max_value=2**31 - 1,
                         errors=errors)
        if seed is not None:
            out["seed"] = seed
        if out["optimizer"] == "sgd":
            out["nesterov"] = st.checkbox("Nesterov", key=f"{prefix}.nesterov")
        try:
            amp_ok = amp_available(pick_device(out["device"]))
        except ConfigError:
            amp_ok = False
        out["amp"] = st.checkbox("Mixed precision", key=f"{prefix}.amp", disabled=not amp_ok,
                                 help="Autocast on CUDA (bfloat16 where supported); not on the CPU.") and amp_ok
    return out


def also_log_to(prefix: str) -> list[str]:
    """The "Also log to" checkboxes: one per tracker the server's operator set up
    (`clr_core.trackers.operator`), named by role, never by where it lies; what is ticked
    goes in the job's config as ``log_to``. None set up: nothing is drawn."""
    offers = operator.offered()
    ticked = []
    for offer in offers:
        if st.checkbox(offer.label, key=f"{prefix}.log_to.{offer.role}",
                       disabled=offer.unavailable is not None,
                       help=offer.unavailable or "The run is also written to the tracker your "
                            "team reads, beside the Runs page (docs/trackers.md).") \
                and offer.unavailable is None:
            ticked.append(offer.role)
    return ticked
