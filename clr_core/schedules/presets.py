"""Named configurations from the papers and from today's training recipes.

Each preset is a plain `from_dict` config, so a preset is data: loading one in the
designer is the same as opening a link with those parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from clr_core.schedules.registry import from_dict

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    """A named configuration; `config` is a `from_dict` input."""

    label: str
    description: str
    config: dict
    #: the updates per epoch the preset's step sizes were counted in (the designer's
    #: "Iterations per epoch" follows a loaded preset)
    iters_per_epoch: int = 500

    def schedule(self):
        return from_dict(self.config)


#: Every preset by key: the papers' settings and today's recipes, as the designer lists them.
PRESETS: dict[str, Preset] = {
    "digits_triangular": Preset(
        "Digits demo: triangular, 2 cycles",
        "Smith's (2015) triangular policy sized for scikit-learn's digits: 1,437 training "
        "images in batches of 64 are 22 updates an epoch, so a step size of 75 (about 3 "
        "epochs, inside Smith's 2-10) completes two full cycles in 300 updates; bounds from "
        "the range test on the same data (max_lr 0.1, base_lr max/4).",
        {"policy": "triangular", "base_lr": 0.025, "max_lr": 0.1, "step_size_up": 75},
        iters_per_epoch=22),
    "smith2015_triangular": Preset(
        "Smith 2015 triangular (CIFAR-10)",
        "Smith (2015) CIFAR-10 example: base_lr 0.001, max_lr 0.006, stepsize 2000 "
        "(4 epochs of 500 iterations).",
        {"policy": "triangular", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000}),
    "smith2015_triangular2": Preset(
        "Smith 2015 triangular2 (CIFAR-10)",
        "The same bounds with the amplitude halved every cycle; reached the fixed-LR accuracy "
        "(81.4%) in 25,000 instead of 70,000 iterations.",
        {"policy": "triangular2", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000}),
    "smith2015_exp_range": Preset(
        "Smith 2015 exp_range (CIFAR-10)",
        "The same bounds with the amplitude decaying as 0.99994**iteration; the paper's best "
        "CIFAR-10 result (82.2% at 42,000 iterations).",
        {"policy": "exp_range", "base_lr": 0.001, "max_lr": 0.006, "step_size_up": 2000,
         "gamma": 0.99994}),
    "smith2018_one_cycle": Preset(
        "Smith 2018 1cycle (linear, annihilation)",
        "Smith's (2018) 1cycle: linear from max/10 up to max and back in equal steps, then "
        "annihilation to max/1000; momentum 0.95 -> 0.85 -> 0.95, held at 0.95 at the end.",
        {"policy": "one_cycle", "max_lr": 0.1, "total_steps": 1000, "pct_start": 0.45,
         "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0,
         "three_phase": True, "cycle_momentum": True, "base_momentum": 0.85,
         "max_momentum": 0.95}),
    "fastai_fit_one_cycle": Preset(
        "fastai fit_one_cycle",
        "fastai's defaults: cosine, 25% warm-up from max/25, ending at max/1e5 (div_final; "
        "torch's final_div_factor is relative to the start LR, hence 1e5/25 = 4000); "
        "moms 0.95 -> 0.85 -> 0.95. fastai's phase split differs from torch's by < 1 step.",
        {"policy": "one_cycle", "max_lr": 0.001, "total_steps": 1000, "pct_start": 0.25,
         "anneal_strategy": "cos", "div_factor": 25.0, "final_div_factor": 4000.0,
         "three_phase": False, "cycle_momentum": True, "base_momentum": 0.85,
         "max_momentum": 0.95}),
    "torch_one_cycle": Preset(
        "PyTorch OneCycleLR defaults",
        "OneCycleLR's defaults: cosine, 30% warm-up from max/25, ending at max/(25 x 1e4).",
        {"policy": "one_cycle", "max_lr": 0.1, "total_steps": 1000}),
    "sgdr": Preset(
        "SGDR (Loshchilov & Hutter 2017)",
        "Cosine annealing with warm restarts, each cycle twice as long as the previous one "
        "(T_mult = 2), down to 0.",
        {"policy": "cosine_restarts", "max_lr": 0.05, "base_lr": 0.0, "T_0": 500, "T_mult": 2}),
    "hf_finetune_linear": Preset(
        "Fine-tuning: 6 % warm-up, linear (HF)",
        "The Trainer's default schedule as used for GLUE fine-tuning in RoBERTa (Liu et al. "
        "2019): linear warm-up over 6 % of the steps to 2e-5, then linear decay to 0.",
        {"policy": "warmup_linear", "max_lr": 2e-5, "total_steps": 10_000,
         "warmup_steps": 600}),
    "deit_cosine": Preset(
        "ViT/DeiT: cosine, 5 warm-up epochs",
        "DeiT's recipe (Touvron et al. 2021, 'Training data-efficient image transformers'): "
        "300 epochs of cosine to 1e-5 after 5 warm-up epochs from 1e-6, lr 5e-4 per 512 "
        "images; here 100 updates per epoch, stepped per update.",
        {"policy": "timm_cosine", "max_lr": 5e-4, "t_initial": 30_000, "min_lr": 1e-5,
         "warmup_t": 500, "warmup_lr_init": 1e-6}, iters_per_epoch=100),
    "llm_wsd": Preset(
        "LLM pre-training: WSD, 1-sqrt cool-down",
        "Warmup-stable-decay as in MiniCPM (Hu et al. 2024), with the 1-sqrt cool-down over "
        "the last 20 % that Hägele et al. (2024) found to match cosine; 2 % warm-up.",
        {"policy": "wsd", "max_lr": 3e-4, "total_steps": 100_000, "warmup_steps": 2000,
         "decay_steps": 20_000, "min_lr": 0.0, "warmup_shape": "linear",
         "decay_shape": "1-sqrt"}),
    "char_lm_wsd": Preset(
        "Char LM: WSD, 300 steps",
        "The LLM recipe above at the size of the app's character transformer on Python's docs: "
        "10 % warm-up to 3e-3, hold, 1-sqrt cool-down over the last 20 % (Hägele et al. 2024). "
        "Train with AdamW, beta2 0.95, weight decay 0.1.",
        {"policy": "wsd", "max_lr": 3e-3, "total_steps": 300, "warmup_steps": 30,
         "decay_steps": 60, "min_lr": 0.0, "warmup_shape": "linear", "decay_shape": "1-sqrt"}),
    "small_vit_cosine": Preset(
        "Small ViT: warm-up cosine",
        "DeiT's shape (Touvron et al. 2021) at the size of the app's ViT on digits: 10 % linear "
        "warm-up to 3e-3, cosine to 0. Train with AdamW, weight decay 0.05.",
        {"policy": "warmup_cosine", "max_lr": 3e-3, "total_steps": 300, "warmup_steps": 30}),
}
