"""The Ray driver's own process (the "bridge"): ``RayExecutor`` starts it, and only here
is Ray imported, the cluster connected to and each job's Ray task driven.

Why a process: Ray's driver ends the process it lives in when its cluster goes away
("Failed to connect to GCS within 60 seconds ... The program will terminate"), and
``ray.init`` blocks for minutes on an address nobody answers. Here that ends the bridge;
the server sees the pipe close, fails the bridge's jobs with a clear message and starts
a new bridge at the next Start.

Pipe protocol (pickled tuples), server -> bridge: ``("job", tid, kind, runner, config,
threads, gpus)``, ``("stop", tid)``, ``("exit",)``. Bridge -> server: first ``("ready",
info)`` or ``("refused", message)``; then ``("events", tid, batch, progress)``,
``("done", tid, result, error, forced, notes)``, ``("beat",)`` every second while the
cluster answers, and ``("lost", reason)`` just before the bridge exits because it
stopped answering.

Events come back as before: the task batches them into a small mailbox actor every
``batch_s``, the job's thread here takes them out. Cancel sets a flag in the mailbox
that the task's ``should_stop`` sees at its next batch (the partial result comes back);
after ``cancel_grace_s`` it becomes ``ray.cancel(force=True)``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from clr_core.jobs.executors import ray_connect as rc
from clr_core.jobs.executors.base import Outcome, describe_error
from clr_core.jobs.executors.ray_task import (
    Mailbox,
    cluster_runtime_env,
    local_runtime_env,
    run_in_ray,
)

__all__ = ["bridge_main", "main"]

logger = logging.getLogger(__name__)

_POLL_S = 0.1
#: Seconds between two checks that the cluster answers, and misses before it is lost.
BEAT_S = 1.0
MISSES = 2


# -- the bridge --------------------------------------------------------------------------


class _Refused(Exception):
    """The cluster cannot be used; the message says why in one line."""


class _Bridge:
    def __init__(self, conn: Connection, settings: dict[str, Any]) -> None:
        self._conn = conn
        self._send_lock = threading.Lock()
        self._address = rc.parse_address(settings.get("address"))
        self._settings = settings
        self._stops: set[str] = set()
        self._gcs: Any = None
        self._lost = False

    @property
    def local(self) -> bool:
        return self._address.local

    def send(self, message: tuple) -> None:
        with self._send_lock:
            if self._lost:
                return
            self._conn.send(message)

    # -- connecting ----------------------------------------------------------------------

    def connect(self) -> dict[str, Any]:
        address = self._address
        problem = rc.probe(address)
        if problem:
            raise _Refused(problem)
        if address.client and importlib.util.find_spec("grpc") is None:
            raise _Refused(rc.client_missing(address))
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        if address.host is not None and not address.client:
            self._gcs = self._check_gcs(ray)
        env = local_runtime_env() if address.loopback else cluster_runtime_env()
        options: dict[str, Any] = {"runtime_env": env}
        if not address.client:
            options.update(include_dashboard=False, log_to_driver=False,
                           logging_level=logging.WARNING)
        options.update(self._settings.get("init") or {})
        # The Ray client's head starts a server process per connection and fails the
        # connection when that process is slow to come up (a busy head): try it once more.
        attempts = 2 if address.client else 1
        for attempt in range(1, attempts + 1):
            try:
                ray.init(address=address.raw or None, **options)
                break
            except ray.exceptions.AuthenticationError:
                raise _Refused(rc.token_refused(address, self._token_set())) from None
            except ConnectionAbortedError as e:
                if attempt == attempts:
                    raise _Refused(self._describe(e)) from None
                with contextlib.suppress(Exception):
                    ray.shutdown()
            except Exception as e:
                raise _Refused(self._describe(e)) from None
        if self._gcs is None and not address.client:
            from ray._raylet import GcsClient  # optional: Ray's own client of the head

            self._gcs = GcsClient(address=ray.get_runtime_context().gcs_address)
        resources = ray.cluster_resources()
        return {"address": str(address), "nodes": len([n for n in ray.nodes() if n["Alive"]]),
                "cpus": resources.get("CPU", 0.0), "gpus": resources.get("GPU", 0.0),
                "ray_version": ray.__version__}

    def _check_gcs(self, ray: Any) -> Any:
        """Read the cluster's metadata the way ``ray.init`` does, but failing in
        seconds: a token the head refuses, or a version it cannot run."""
        from ray._private.authentication import (  # optional: Ray's token settings
            authentication_token_setup as auth,
        )
        from ray._raylet import GcsClient  # optional: Ray's own client of the head

        gcs_address = f"{self._address.host}:{self._address.port}"

        def read() -> tuple[Any, bytes | None]:
            client = GcsClient(address=gcs_address)
            return client, client.internal_kv_get(b"CLUSTER_METADATA", namespace=b"cluster",
                                                  timeout=5)

        try:
            try:
                client, raw = read()
            except ray.exceptions.AuthenticationError:
                # A token on this machine (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or
                # ~/.ray/auth_token) and RAY_AUTH_MODE unset: use it, as `ray.init("auto")` does.
                if "RAY_AUTH_MODE" in os.environ or not auth.maybe_enable_token_auth_if_token_available(
                        warn_if_disabled=False):
                    raise
                client, raw = read()
        except ray.exceptions.AuthenticationError:
            raise _Refused(rc.token_refused(self._address, self._token_set())) from None
        except Exception as e:
            raise _Refused(self._describe(e)) from None
        problem = rc.version_problem(
            json.loads(raw or b"{}"), ray.__version__, ".".join(map(str, sys.version_info[:3])),
            os.environ.get("RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL", "patch"))
        if problem:
            raise _Refused(problem.replace("The Ray cluster", f"The Ray cluster at "
                                                             f"{self._address.raw}"))
        return client

    @staticmethod
    def _token_set() -> bool:
        path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
        return bool(os.environ.get("RAY_AUTH_TOKEN")) or os.path.exists(path)

    def _describe(self, error: BaseException) -> str:
        text = str(error)
        if "Version mismatch" in text or "version mismatch" in text:
            return (f"The Ray cluster at {self._address.raw} runs other Ray or Python versions "
                    f"than this app: install the same on both ({text.splitlines()[0]}).")
        if "InvalidAuthToken" in text or "Unauthenticated" in text:
            return rc.token_refused(self._address, self._token_set())
        return rc.connect_failed(self._address, error)

    # -- staying connected ---------------------------------------------------------------

    def alive(self) -> bool:
        """Whether the cluster answers now, asked with a time limit."""
        if self._gcs is not None:
            try:
                self._gcs.internal_kv_get(b"CLUSTER_METADATA", namespace=b"cluster", timeout=2)
                return True
            except Exception:
                return False
        return rc.probe(self._address, timeout_s=2.0) is None

    def lose(self, reason: str) -> None:
        """Say the cluster is gone, then end: the server fails the jobs and keeps going."""
        with self._send_lock:
            if not self._lost:
                self._lost = True
                with contextlib.suppress(Exception):
                    self._conn.send(("lost", reason))
        os._exit(0)

    def watch(self) -> None:
        misses, answered = 0, time.monotonic()
        while True:
            time.sleep(BEAT_S)
            if self.alive():
                misses, answered = 0, time.monotonic()
                with contextlib.suppress(Exception):
                    self.send(("beat",))
                continue
            misses += 1
            if misses >= MISSES:
                self.lose(f"no answer for {time.monotonic() - answered:.0f} s")

    # -- running jobs --------------------------------------------------------------------

    def serve(self) -> None:
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        self._mailbox_cls = ray.remote(num_cpus=0)(Mailbox)
        self._task = ray.remote(max_retries=0)(run_in_ray)
        threading.Thread(target=self.watch, name="clr-ray-watch", daemon=True).start()
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                return  # the server is gone
            if message[0] == "job":
                threading.Thread(target=self.drive, args=message[1:], daemon=True,
                                 name=f"clr-ray-{message[1][:8]}").start()
            elif message[0] == "stop":
                self._stops.add(message[1])
            else:
                return

    def drive(self, tid: str, kind: str, runner: Any, config: dict, threads: int | None,
              gpus: int) -> None:
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        try:
            outcome = self._run(tid, kind, runner, config, threads, gpus)
        except ray.exceptions.RayError as e:  # a mailbox or the submit itself
            outcome = self._died(e, tid in self._stops)
        except Exception as e:
            outcome = Outcome(error=describe_error(e))
        if outcome.error is not None and outcome.notes == ["ray"] and not self.alive():
            self.lose("its head did not answer when a task failed")
        self._stops.discard(tid)
        with contextlib.suppress(Exception):
            self.send(("done", tid, outcome.result, outcome.error, outcome.forced,
                       [n for n in outcome.notes if n != "ray"]))

    @staticmethod
    def _died(error: BaseException, stop_asked: bool) -> Outcome:
        if stop_asked:
            return Outcome(forced=True)
        return Outcome(error=f"The Ray worker running this job died ({type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''}); the events "
                             "it sent before are kept.", notes=["ray"])

    def _run(self, tid: str, kind: str, runner: Any, config: dict, threads: int | None,
             gpus: int) -> Outcome:
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        grace = float(self._settings.get("cancel_grace_s", 5.0))
        mailbox = self._mailbox_cls.remote()
        ref = self._task.options(num_gpus=gpus, num_cpus=1).remote(
            kind, runner, config, threads if not gpus else None, mailbox,
            float(self._settings.get("batch_s", 0.2)))
        stop_asked: float | None = None
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=_POLL_S)
                self._drain(tid, mailbox)
                if ready:
                    try:
                        return Outcome(result=ray.get(ref))
                    except ray.exceptions.TaskCancelledError:
                        return Outcome(forced=True)
                    except ray.exceptions.RayTaskError as e:
                        inner = getattr(e, "cause", None) or e.as_instanceof_cause()
                        return Outcome(error=describe_error(inner), notes=[str(e)])
                if tid in self._stops:
                    now = time.monotonic()
                    if stop_asked is None:
                        stop_asked = now
                        mailbox.request_stop.remote()
                    elif now - stop_asked > grace:
                        logger.warning("job %s did not stop within %.1f s of its cancel: "
                                       "ray.cancel", tid, grace)
                        ray.cancel(ref, force=True)
                        with contextlib.suppress(ray.exceptions.RayError):
                            ray.get(ref, timeout=30)
                        with contextlib.suppress(ray.exceptions.RayError):
                            self._drain(tid, mailbox)
                        return Outcome(forced=True)
        finally:
            with contextlib.suppress(Exception):
                ray.kill(mailbox)

    def _drain(self, tid: str, mailbox: Any) -> None:
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        batches, progress = ray.get(mailbox.take.remote(), timeout=30)
        if batches or progress is not None:
            self.send(("events", tid, [e for b in batches for e in b], progress))


def bridge_main(conn: Connection, settings: dict[str, Any]) -> None:
    """The bridge's life: connect (or say why not), then run jobs until the server says
    exit or goes away, or the cluster stops answering."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    os.environ.update(settings.get("env") or {})
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    bridge = _Bridge(conn, settings)
    try:
        info = bridge.connect()
    except _Refused as e:
        conn.send(("refused", str(e)))
        return
    except Exception as e:  # anything else Ray raises while connecting: one line
        conn.send(("refused", bridge._describe(e)))
        return
    conn.send(("ready", info))
    bridge.serve()
    if bridge.local:  # the private Ray this bridge started goes with it
        import ray  # optional: installed only where CLR_STUDIO_EXECUTOR=ray is used

        with contextlib.suppress(Exception):
            ray.shutdown()
    os._exit(0)  # not ray.shutdown() for a cluster: it can block on one that is gone


def main() -> None:
    """The bridge process's entry: its end of the socket pair is the fd in ``argv[1]``;
    the first message on it is the settings."""
    conn = Connection(int(sys.argv[1]))
    bridge_main(conn, conn.recv())
