"""The engine under ``torchrun``: what every rank must agree on, in one place.

A range test or a training launched with ``torchrun --nproc_per_node=N`` runs the same loop
on every rank, the model wrapped in ``DistributedDataParallel`` (which averages gradients,
so every rank takes the same update) and each rank reading its shard of the data (a
``DistributedSampler``). What DDP does not do, and the loop needs, is here:

* the curve is the mean loss over ranks (one ``all_reduce`` per update, which also carries
  every rank's cancel flag, so a Cancel or a SIGTERM on any rank stops them all after the
  same update and no rank waits in a collective the others never join);
* validation metrics are summed over ranks before they are divided;
* a rank that fails leaves its message in the process group's store, so the ranks that
  then fail in a collective (their peer gone) report the cause, not "connection closed";
* only rank 0 emits events and records the run.

Everything is a no-op (one cheap check) when ``torch.distributed`` is not initialised or
has one process, so a single-process run is unchanged. Lightning fixed the same hang for
its LR finder by broadcasting the stop decision (Lightning-AI/pytorch-lightning#15304).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from clr_core.errors import ClrError

__all__ = [
    "DistributedError",
    "StepSync",
    "active",
    "barrier",
    "sigterm_deferred",
    "init_from_env",
    "is_main",
    "launched",
    "leave",
    "next_epoch",
    "rank",
    "reduce_sums",
    "shard_sampler",
    "shared_failure",
    "world_size",
    "wrap_model",
]

_FAILURE_KEY = "clr_studio/first_failure"
_terminated = threading.Event()  # a SIGTERM held back by `sigterm_deferred`


class DistributedError(ClrError):
    """Another rank failed first: its message, and what it cost this rank."""


def _dist():
    """``torch.distributed`` if torch is loaded and has it: without torch imported no
    process group can exist, so asking never loads torch (the run store does not need it)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.distributed.is_available():
        return None
    return torch.distributed


def active() -> bool:
    """True inside an initialised process group of more than one process."""
    dist = _dist()
    return dist is not None and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return _dist().get_world_size() if active() else 1


def rank() -> int:
    return _dist().get_rank() if active() else 0


def is_main() -> bool:
    """Rank 0, or the only process: the one that prints, emits and records."""
    return rank() == 0


def _device():
    """Where the collectives' tensors live: NCCL takes CUDA tensors only."""
    import torch  # late: the run store imports this module, and must not load torch

    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def reduce_sums(values: list[float]) -> list[float]:
    """The sums over ranks of ``values`` (one float64 ``all_reduce``); as given when not
    distributed."""
    if not active():
        return values
    import torch  # late: the run store imports this module, and must not load torch

    t = torch.tensor(values, dtype=torch.float64, device=_device())
    torch.distributed.all_reduce(t)
    return t.tolist()


class StepSync:
    """Per update, the mean loss over ranks and whether any rank asked to stop: one
    ``all_reduce`` of (loss, flag). Every rank gets the same sum, so every rank takes the
    same stop decision (divergence, non-finite, cancel) at the same update."""

    __slots__ = ("stop", "world")

    def __init__(self) -> None:
        self.world = world_size()
        self.stop = False

    def __call__(self, loss: float, should_stop: Callable[[], bool] | None,
                 stepper=None) -> float:
        """The mean loss; ``stepper.accuracy`` (the update's, when counted) becomes the
        mean over ranks too, in the same all-reduce."""
        asked = _terminated.is_set() or (should_stop is not None and should_stop())
        flag = 1.0 if asked else 0.0
        accuracy = stepper.accuracy if stepper is not None else 0.0
        total, stops, accuracies = reduce_sums([loss, flag, accuracy])
        self.stop = stops > 0
        if stepper is not None:
            stepper.accuracy = accuracies / self.world
        return total / self.world


def next_epoch(loader, epoch: int) -> None:
    """``sampler.set_epoch(epoch)`` on a ``DistributedSampler`` loader when the loop starts
    its next pass, as DDP training does, so a shuffled shard is not the same every epoch."""
    sampler = getattr(loader, "sampler", None)
    if sampler is None or not active():
        return
    import torch  # late: the run store imports this module, and must not load torch

    if isinstance(sampler, torch.utils.data.DistributedSampler):
        sampler.set_epoch(epoch)


def wrap_model(model):
    """``model`` in ``DistributedDataParallel`` under an active process group (on its
    CUDA device when it has one), as it is otherwise or when already wrapped."""
    if not active():
        return model
    # late: keeps torch off the run store's import
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        return model
    device = next((p.device for p in model.parameters()), None)
    ids = [device.index] if device is not None and device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def shard_sampler(dataset, *, shuffle: bool, seed: int, drop_last: bool):
    """A ``DistributedSampler`` giving this rank its share of ``dataset`` (the same
    ``seed`` on every rank, so the shards do not overlap); None when not distributed."""
    if not active():
        return None
    from torch.utils.data import DistributedSampler  # late: keeps torch off the run store's import

    return DistributedSampler(dataset, shuffle=shuffle, seed=int(seed), drop_last=drop_last)


def _store():
    try:
        # late: keeps torch off the run store's import
        from torch.distributed.distributed_c10d import _get_default_store

        return _get_default_store()
    except Exception:  # noqa: BLE001 - no store: failures are reported as they come
        return None


@contextlib.contextmanager
def shared_failure() -> Iterator[None]:
    """Run a loop whose failure on one rank must reach the others with its cause.

    The first rank to fail posts "rank R: Type: message" to the process group's store and
    its exception goes on. A rank failing after it (its collective broke because the peer
    is gone, or torchrun stopped it) raises `DistributedError` naming that first failure."""
    if not active():
        yield
        return
    try:
        yield
    except BaseException as exc:
        store = _store()
        if store is None:
            raise
        mine = f"rank {rank()}: {type(exc).__name__}: {exc}".encode()
        try:
            first = store.compare_set(_FAILURE_KEY, b"", mine)
        except Exception:  # noqa: BLE001 - the store went with the job: keep our own error
            raise exc from None
        first = bytes(first)
        if first == mine or not first:
            raise
        raise DistributedError(f"{first.decode(errors='replace')} (so rank {rank()} stopped "
                               f"too: {type(exc).__name__})") from exc


def launched() -> bool:
    """True when started by ``torchrun`` (or any launcher that sets WORLD_SIZE > 1)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def init_from_env(device=None) -> bool:
    """Join the process group ``torchrun`` describes (RANK, WORLD_SIZE, LOCAL_RANK,
    MASTER_ADDR/PORT in the environment): NCCL when this rank runs on CUDA (its device
    set to cuda:LOCAL_RANK first), gloo otherwise. Returns False (and does nothing) when
    not launched that way or already joined."""
    import torch  # late: the run store imports this module, and must not load torch

    dist = _dist()
    if dist is None or not launched() or dist.is_initialized():
        return False
    cuda = torch.cuda.is_available() and (device is None or str(device).startswith(("cuda", "auto")))
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo",
                            timeout=datetime.timedelta(minutes=10))
    return True


def leave() -> None:
    """Leave the process group `init_from_env` joined (torchrun expects a clean exit).
    Every rank waits for the others first: a rank that tears its group down while another
    still talks to it can abort ("terminate called without an active exception")."""
    dist = _dist()
    if dist is not None and dist.is_initialized():
        with contextlib.suppress(Exception):  # a peer already gone: leave all the same
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (a no-op in one process): a rank that is done must not exit
    before rank 0 has recorded, since torchrun stops the others when one exits non-zero."""
    if active():
        _dist().barrier()


@contextlib.contextmanager
def sigterm_deferred() -> Iterator[None]:
    """Hold a SIGTERM back while a recorded run goes, on a rank of a process group.

    ``torchrun`` stops the other ranks with SIGTERM when one fails, and a batch scheduler
    sends it at a time limit; killed mid-run, rank 0 would leave its record "running".
    Here a SIGTERM cancels the run instead (every rank stops at the next update, see
    `StepSync`), the record is finished, and the signal is delivered again on the way out,
    so the process still ends as it was told. A no-op outside a process group, off the
    main thread, or when SIGTERM already has a handler of its own (the CLI's)."""
    if (not active() or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    _terminated.clear()
    signal.signal(signal.SIGTERM, lambda signum, frame: _terminated.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if _terminated.is_set():
            _terminated.clear()
            os.kill(os.getpid(), signal.SIGTERM)
