"""One rank of tests/engine/test_fsdp.py, started by a real ``torchrun``:
``fsdp_worker.py OUT_DIR``. The model is sharded with FSDP2
(``torch.distributed.fsdp.fully_shard``) on a CPU device mesh over gloo, instead of wrapped
in DDP; the problem is ddp_worker's exact one (a linear model under a mean-reduced MSE,
float64, every rank half of each global batch), here with two layers so both ranks hold a
real shard of every weight.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

sys.path.insert(0, str(Path(__file__).parent))  # ddp_worker, its neighbour
from ddp_worker import GLOBAL_BATCH, data  # noqa: E402

RANGE_TEST = {"start_lr": 1e-3, "end_lr": 3.0, "num_iter": 12}


def model_and_optimizer() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1)).double()
    return model, torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)


def single_process() -> list[float]:
    """The same range test in one process, on the whole global batches."""
    from clr_core.engine.range_test import run_range_test

    model, opt = model_and_optimizer()
    loader = DataLoader(data()[0], batch_size=GLOBAL_BATCH, shuffle=False)
    return run_range_test(model, opt, nn.MSELoss(), loader, **RANGE_TEST).losses.tolist()


def main(out: Path) -> None:
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    from clr_core.engine.range_test import run_range_test

    dist.init_process_group("gloo")
    model, _ = model_and_optimizer()
    for layer in model:
        fully_shard(layer, mesh=init_device_mesh("cpu", (dist.get_world_size(),)))
    fully_shard(model, mesh=init_device_mesh("cpu", (dist.get_world_size(),)))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    shards = [tuple(p.to_local().shape) for p in model.parameters()]
    before = {k: v.full_tensor().clone() for k, v in model.state_dict().items()}
    train = data()[0]
    loader = DataLoader(train, batch_size=GLOBAL_BATCH // 2,
                        sampler=DistributedSampler(train, shuffle=False))
    result = run_range_test(model, opt, nn.MSELoss(), loader, **RANGE_TEST)
    after = {k: v.full_tensor() for k, v in model.state_dict().items()}
    rank = dist.get_rank()
    (out / f"rank{rank}.json").write_text(json.dumps({
        "losses": result.losses.tolist(), "stop": result.stop_reason, "shards": shards,
        "restored": all(torch.equal(before[k], after[k]) for k in before)}))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
