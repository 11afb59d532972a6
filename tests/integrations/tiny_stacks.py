"""Tiny, offline models for the integration tests: a LightningModule on scikit-learn's
digits and a 2-layer BERT built from a config (no download), with their data."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


def digits_tensors(n: int = 384) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (torch.tensor(x[:n] / 16.0, dtype=torch.float32), torch.tensor(y[:n]))


class DigitsModule(pl.LightningModule):
    """An MLP with discriminative LRs (the head at 10x the body), logging val metrics."""

    def __init__(self, fail_at: int | None = None, interrupt_at: int | None = None,
                 schedule_from=None, policy: str = "one_cycle") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(64, 32), nn.ReLU())
        self.head = nn.Linear(32, 10)
        self.fail_at, self.interrupt_at = fail_at, interrupt_at
        self.schedule_from, self.policy = schedule_from, policy
        self.x, self.y = digits_tensors()

    def forward(self, x):
        return self.head(self.body(x))

    def training_step(self, batch, batch_idx):
        if self.fail_at is not None and batch_idx == self.fail_at:
            raise RuntimeError(f"boom at batch {batch_idx}")
        if self.interrupt_at is not None and batch_idx == self.interrupt_at:
            raise KeyboardInterrupt
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        out = self(x)
        self.log("val_loss", nn.functional.cross_entropy(out, y))
        self.log("val_acc", (out.argmax(1) == y).float().mean())

    def configure_optimizers(self):
        opt = torch.optim.SGD([{"params": self.body.parameters(), "lr": 0.01},
                               {"params": self.head.parameters(), "lr": 0.1}], momentum=0.9)
        if self.schedule_from is None:
            return opt
        from clr_core.integrations.lightning import scheduled

        return scheduled(opt, self.schedule_from, policy=self.policy,
                         total_steps=int(self.trainer.estimated_stepping_batches))

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.x[:256], self.y[:256]), batch_size=32, shuffle=True)

    def val_dataloader(self):
        return DataLoader(TensorDataset(self.x[256:], self.y[256:]), batch_size=128)


class DigitsData(pl.LightningDataModule):
    def setup(self, stage=None):
        self.x, self.y = digits_tensors()

    def train_dataloader(self):
        return DataLoader(TensorDataset(self.x[:256], self.y[:256]), batch_size=32, shuffle=True)


def quiet_trainer(tmp_path, **kwargs) -> pl.Trainer:
    base = dict(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                default_root_dir=str(tmp_path))
    return pl.Trainer(**{**base, **kwargs})


class TokenDataset(Dataset):
    """Sequences whose label is whether token 5 occurs: learnable by a tiny BERT."""

    def __init__(self, n: int = 64, length: int = 12, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.ids = torch.tensor(rng.integers(6, 50, size=(n, length)))
        has = torch.tensor(rng.random(n) < 0.5)
        self.ids[has, 3] = 5
        self.labels = has.long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                "labels": self.labels[i]}


def tiny_bert():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)
    return BertForSequenceClassification(config)


def tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=32, n_embd=16, n_layer=2,
                                      n_head=2))


def hf_trainer(tmp_path, model=None, callbacks=(), train_dataset=None, **kwargs):
    from transformers import Trainer, TrainingArguments

    args = dict(output_dir=str(tmp_path / "hf"), per_device_train_batch_size=8,
                max_steps=16, learning_rate=1e-3, report_to=[], save_strategy="no",
                logging_strategy="no", use_cpu=True, disable_tqdm=True, seed=0,
                dataloader_num_workers=0)
    args.update(kwargs)
    return Trainer(model=model if model is not None else tiny_bert(),
                   args=TrainingArguments(**args),
                   train_dataset=train_dataset if train_dataset is not None else TokenDataset(),
                   eval_dataset=TokenDataset(32, seed=1), callbacks=list(callbacks))


class LMDataset(TokenDataset):
    """The same token sequences for a causal LM: the labels are the inputs."""

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


class TwoOptimizerModule(DigitsModule):
    """The digits MLP with two optimizers (SGD on the body, Adam on the head), so manual
    optimization, as Lightning 2 needs for several optimizers."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def loss(self, batch):
        x, y = batch
        return nn.functional.cross_entropy(self(x), y)

    def training_step(self, batch, batch_idx):
        body, head = self.optimizers()
        body.zero_grad()
        head.zero_grad()
        loss = self.loss(batch)
        self.manual_backward(loss)
        body.step()
        head.step()

    def configure_optimizers(self):
        return [torch.optim.SGD(self.body.parameters(), lr=0.01, momentum=0.9),
                torch.optim.Adam(self.head.parameters(), lr=1e-3, betas=(0.85, 0.99))]
