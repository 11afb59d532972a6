"""Verify on the training page trains with everything the range test had (issue 32, item 2):
the form's fields and the ones the training form has no field for (gradient accumulation,
clipping) reach the job the page starts (the config stored with its result), field by field."""

from __future__ import annotations

from apptest_helpers import open_page, plain

from clr_core.jobs.runners import verify_config
from clr_core.setup.configs import RangeTestConfig, TrainConfig
from ui.jobs import registry

#: Names both configs hold that mean another thing in a training (Verify sets its own).
NOT_THE_SAME_SETTING = {"num_iter", "eval_every", "diverge_threshold"}


def test_verify_trains_with_the_range_test_s_accumulation_clipping_and_optimizer():
    rt = RangeTestConfig.from_dict({
        "dataset": "digits", "model": "mlp", "optimizer": "adamw", "beta2": 0.98,
        "weight_decay": 0.05, "momentum": 0.85, "batch_size": 32, "seed": 3, "device": "cpu",
        "accumulation_steps": 2, "grad_clip_norm": 1.0, "grad_clip_value": 0.5,
        "start_lr": 1e-5, "end_lr": 1.0, "num_iter": 50}).to_dict()
    plan = verify_config(rt, max_lr=0.01, policy="warmup_cosine", num_iter=20, eval_every=10)
    at = open_page("pages/training.py")
    at.session_state["train.pending"] = (plan, "Verifying.", True)  # as the Verify button does
    at.run()
    assert not at.exception, at.exception
    job_id = at.session_state["train.job"]  # started by the page, from its form
    job = registry().status(job_id)
    registry().cancel(job_id)  # what it was given is the point, not how it trains
    shared = sorted((set(rt) & set(TrainConfig().to_dict())) - NOT_THE_SAME_SETTING)
    trained = TrainConfig.from_dict({**{k: v for k, v in job.config.items() if k != "runs"},
                                     **job.config["runs"][0]}).to_dict()
    assert {k: trained[k] for k in shared} == {k: rt[k] for k in shared}
    # and the form says so, under the Verify source it offers
    assert any("gradient accumulation over 2 batches" in plain(c.value) for c in at.caption)
