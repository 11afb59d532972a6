"""Confirm on a Hugging Face Trainer (issue 31): the halving of `run_confirmation` with each
trial a fresh Trainer and model trained for the trial's max_steps on transformers' own
scheduler at the trial's peak, scored by ``evaluate()``'s eval_loss."""

from __future__ import annotations

import math

import pytest
from tiny_stacks import TokenDataset, hf_trainer, tiny_bert

from clr_core.engine.confirm import plan_for, trial_steps
from clr_core.errors import ConfigError
from clr_core.integrations.hf_confirm import confirm
from clr_core.integrations.huggingface import range_test

pytestmark = pytest.mark.xdist_group("huggingface")
BUDGET = 16  # two epochs of TokenDataset's 8 batches (1/8 of it: 2 steps)


@pytest.fixture(scope="module")
def lr_test(tmp_path_factory):
    return range_test(hf_trainer(tmp_path_factory.mktemp("hf")), start_lr=1e-5, num_iter=20,
                      seed=0)


def test_confirm_trains_a_fresh_trainer_per_trial_at_its_peak_and_length(lr_test, tmp_path):
    made = []

    def make_trainer():
        made.append(hf_trainer(tmp_path, model=tiny_bert()))
        return made[-1]

    heard = []
    out = confirm(make_trainer, lr_test, budget=BUDGET, schedule="warmup_cosine", trainings=4,
                  on_trial=lambda trial, metrics: heard.append((trial, metrics)))
    plan = plan_for(lr_test, trainings=4)
    assert out.plan == plan
    assert math.isclose(out.cost_in_trainings, plan.cost_in_trainings)
    assert len(out.trials) == sum(r.candidates for r in plan.rounds) == len(made) == len(heard)
    assert len({id(t.model) for t in made}) == len(made)  # a fresh model per trial
    for trial, trainer, (told, metrics) in zip(out.trials, made, heard, strict=True):
        assert told == trial and trial.score == pytest.approx(metrics["eval_loss"])
        assert trainer.state.global_step == trial_steps(BUDGET, trial.fraction)
        # transformers' own scheduler, its base LR the trial's peak
        assert type(trainer.lr_scheduler).__name__ == "LambdaLR"
        assert max(trainer.lr_scheduler.base_lrs) == pytest.approx(trial.peak, rel=1e-9)
    full = [t for t in out.trials if t.fraction == 1.0]
    assert len(full) == plan.rounds[-1].candidates  # the last round, at the full budget
    assert out.best_peak in {t.peak for t in full}


def test_one_cycle_trains_on_the_schedules_pytorch_export(lr_test, tmp_path):
    made = []

    def make_trainer():
        made.append(hf_trainer(tmp_path, model=tiny_bert()))
        return made[-1]

    out = confirm(make_trainer, lr_test, budget=BUDGET, trainings=1)
    assert len(out.trials) == len(made) == 8 and out.cost_in_trainings == pytest.approx(1.0)
    assert out.best_peak in {t.peak for t in out.trials}
    assert all(type(t.lr_scheduler).__name__ != "LambdaLR" for t in made)
    assert all(t.state.global_step == trial_steps(BUDGET, 1 / 8) for t in made)


@pytest.mark.parametrize(("call", "message"), [
    (lambda t, p: confirm(hf_trainer(p), t, budget=8), "function returning a fresh Trainer"),
    (lambda t, p: confirm(lambda: hf_trainer(p), [1.0], budget=8), "RangeTestResult"),
    (lambda t, p: confirm(lambda: hf_trainer(p), t, budget=-1), "budget"),
    (lambda t, p: confirm(lambda: hf_trainer(p), t, budget=8, trainings=-2), "trainings"),
    (lambda t, p: confirm(lambda: "trainer", t, budget=8), "must return a Trainer"),
    (lambda t, p: confirm(lambda: _without_eval(p), t, budget=8), "no eval_dataset"),
], ids=["trainer", "result", "budget", "trainings", "factory-returns", "no-eval"])
def test_bad_arguments_are_config_errors(lr_test, tmp_path, call, message):
    with pytest.raises(ConfigError, match=message):
        call(lr_test, tmp_path)


def _without_eval(path):
    trainer = hf_trainer(path, train_dataset=TokenDataset())
    trainer.eval_dataset = None
    return trainer
