"""One rank of the distributed tests (tests/engine/test_distributed.py), started by a real
``torchrun``: ``ddp_worker.py MODE OUT_DIR``.

The problem is chosen so the distributed curve is exact math: a linear model under a
mean-reduced MSE, float64, every rank holding half of each global batch
(``DistributedSampler`` without shuffling deals sample i to rank i % 2). DDP averages the
gradients, so each update equals one full-batch step, and the mean of the ranks' losses is
the full batch's loss. The single-process twin is `single_process` below.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from clr_core.engine import distributed

GLOBAL_BATCH = 8
RANGE_TEST = {"start_lr": 1e-3, "end_lr": 3.0, "num_iter": 12, "eval_every": 4}
TRAINING = {"num_iter": 6, "eval_every": 3,
            "schedule": {"policy": "one_cycle", "max_lr": 0.2, "total_steps": 6}}


def data() -> tuple[TensorDataset, TensorDataset]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 3, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([[1.5], [-2.0], [0.5]], dtype=torch.float64) + 0.1 * torch.randn(
        48, 1, generator=g, dtype=torch.float64)
    return TensorDataset(x[:32], y[:32]), TensorDataset(x[32:], y[32:])


def model_and_optimizer(lr: float = 1e-3) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(1)
    model = nn.Linear(3, 1).double()
    return model, torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def single_process() -> dict:
    """The same runs in one process, on the whole global batches."""
    from clr_core.engine.range_test import run_range_test
    from clr_core.engine.train import run_training

    train, val = data()
    model, opt = model_and_optimizer()
    loader = DataLoader(train, batch_size=GLOBAL_BATCH, shuffle=False)
    val_loader = DataLoader(val, batch_size=4, shuffle=False)
    rt = run_range_test(model, opt, nn.MSELoss(), loader, val_loader=val_loader, **RANGE_TEST)
    tr = run_training(model, opt, nn.MSELoss(), loader, val_loader=val_loader, **TRAINING)
    return summary(rt, tr, model)


def summary(rt, tr, model) -> dict:
    return {"rt_losses": rt.losses.tolist(), "rt_lrs": rt.lrs.tolist(),
            "rt_stop": rt.stop_reason, "rt_val": rt.accuracies[:, 3].tolist(),
            "tr_losses": list(tr.losses), "tr_val": [e.val_loss for e in tr.evals],
            "weights": [p.detach().flatten().tolist() for p in model.parameters()]}


def _sharded(dataset: TensorDataset, batch_size: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size,
                      sampler=DistributedSampler(dataset, shuffle=False))


def main(mode: str, out: Path) -> None:
    torch.distributed.init_process_group("gloo")
    from clr_core.range_test import run_range_test
    from clr_core.train import run_training

    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    train, val = data()
    model, opt = model_and_optimizer()
    before = [p.detach().clone() for p in model.parameters()]
    ddp = nn.parallel.DistributedDataParallel(model)
    loader = _sharded(train, GLOBAL_BATCH // world)
    val_loader = _sharded(val, 4 // world)
    loss_fn = nn.MSELoss()
    if mode == "raise":
        calls = [0]

        def loss_fn(out, y):  # rank 1 fails at its third update
            calls[0] += 1
            if rank == 1 and calls[0] == 3:
                raise ValueError("rank 1 cannot score this batch")
            return nn.functional.mse_loss(out, y)

    events: list = []
    rt = run_range_test(ddp, opt, loss_fn, loader, val_loader=val_loader, emit=events.append,
                        record="ddp range test", store=out / "runs.db", **RANGE_TEST)
    restored = all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    epoch = loader.sampler.epoch  # 12 updates of 4 a pass: the loop began passes 1 and 2
    tr = run_training(ddp, opt, loss_fn, loader, val_loader=val_loader, **TRAINING)
    result = {**summary(rt, tr, model), "restored": restored, "events": len(events),
              "sampler_epoch": epoch}
    (out / f"rank{rank}.json").write_text(json.dumps(result))
    distributed.leave()  # a barrier, then the group torn down on every rank together


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main(sys.argv[1], Path(sys.argv[2]))
