"""The Lightning range test on ``Trainer(strategy="ddp", devices=N)``: run in the Trainer's
own processes, on the shards its fit would read.

Lightning makes its processes when a fit starts: strategy "ddp" runs the user's script again
for every other rank (its ``_SubprocessScriptLauncher``), ``torchrun`` or a cluster made
them already, and the strategy's ``setup_environment`` then joins the process group. The
range test does the same before it sweeps (`in_trainer_processes`), so every other rank runs
the script up to the same ``range_test`` call and joins it there; a ``trainer.fit`` after it
finds the processes and the group made and goes on with them (Lightning makes neither twice).

From there the engine's machinery does the rest (`clr_core.engine.distributed`): the module
in ``DistributedDataParallel``, the curve the mean loss over ranks, one stop decision for all,
every rank restoring its own module, rank 0 alone recording. Every rank computes its result
from that same curve, so every rank holds the same result; Lightning's own ``lr_find``
broadcasts rank 0's for the same end (Lightning-AI/pytorch-lightning#15304).

Imports Lightning at the top: only users of the Lightning integration load this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.strategies import DDPStrategy, DeepSpeedStrategy
from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher
from lightning.pytorch.trainer.connectors.data_connector import _process_dataloader
from lightning.pytorch.trainer.states import RunningStage, TrainerFn

from clr_core.engine import distributed
from clr_core.errors import ConfigError

__all__ = ["in_trainer_processes", "prepare_data", "shard", "wrapped"]


def _several(trainer: pl.Trainer | None) -> bool:
    return trainer is not None and int(getattr(trainer, "world_size", 1) or 1) > 1


def in_trainer_processes(trainer: pl.Trainer | None, sweep: Callable[[], Any]) -> Any:
    """``sweep()`` as the Trainer's fit would run it: on one process as it is, or on every
    process of a ``ddp`` Trainer, inside its process group. Returns what ``sweep`` returns
    on this rank, after every rank has finished (so rank 0 has recorded before any rank
    goes on). The spawning strategies ("ddp_spawn", "ddp_fork", "ddp_notebook") would run
    ``sweep`` in processes that hand nothing back to this one, so they are refused."""
    if not _several(trainer):
        return sweep()
    strategy = trainer.strategy
    launcher = getattr(strategy, "launcher", None)
    if not isinstance(strategy, DDPStrategy) or isinstance(strategy, DeepSpeedStrategy) \
            or isinstance(launcher, _MultiProcessingLauncher):
        name = type(strategy).__name__
        if isinstance(launcher, _MultiProcessingLauncher):
            method = launcher._start_method
            name = ("ddp_spawn" if method == "spawn" else "ddp_fork / ddp_notebook"
                    if method == "fork" else f"ddp, start method {method!r}")
        raise ConfigError(f"the range test runs on several processes with strategy='ddp' "
                          f"(or under torchrun), not {name}: use Trainer(strategy='ddp', "
                          "devices=N) for it, or run it on one device")

    def joined() -> Any:
        strategy.setup_environment()  # the device and the process group, as fit does first
        result = sweep()
        distributed.barrier()
        return result

    if launcher is None:  # made by hand without one: the processes are the caller's
        return joined()
    return launcher.launch(joined, trainer=trainer)


def prepare_data(trainer: pl.Trainer | None, owner: Any) -> None:
    """``owner.prepare_data()`` (a datamodule's download) where Lightning calls it: on one
    process per node (``prepare_data_per_node``) or on rank 0 alone, the others waiting."""
    if not distributed.active():
        owner.prepare_data()
        return
    per_node = bool(getattr(owner, "prepare_data_per_node", True))
    local = int(getattr(trainer, "local_rank", 0)) if trainer is not None else distributed.rank()
    if (local == 0) if per_node else distributed.is_main():
        owner.prepare_data()
    distributed.barrier()


def shard(trainer: pl.Trainer | None, loader: Any) -> Any:
    """``loader`` as the Trainer's fit reads it on this rank (the function fit calls): under
    DDP a shuffled ``DistributedSampler`` in place of the loader's sampler (fit shuffles a
    training loader's shards whether the loader shuffled or not; no change with
    ``use_distributed_sampler=False`` or a ``DistributedSampler`` already there), so each
    rank sees its part and an update's batch is the global one. As it is otherwise."""
    if trainer is None or not distributed.active():
        return loader
    return _process_dataloader(trainer, TrainerFn.FITTING, RunningStage.TRAINING, loader)


def wrapped(trainer: pl.Trainer | None, stepper: Any) -> Any:
    """The sweep's forward in ``DistributedDataParallel`` under DDP, on the strategy's
    device (a GPU rank's own, as fit moves it); as it is otherwise."""
    if not distributed.active():
        return stepper
    if trainer is not None:
        stepper.to(trainer.strategy.root_device)
    return distributed.wrap_model(stepper)
