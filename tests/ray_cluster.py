"""A real two-node Ray cluster on 127.0.0.1 for the Ray tests, started with `ray start`
as a user would (token authentication on), each node in its own process tree that is
killed by its process ids, never with `ray stop` (that would stop every Ray on the
machine, other people's too). Its own ports and temp dir, so it meets no other Ray."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parents[1]


def free_block(size: int = 40) -> int:
    """A base port whose next ``size`` ports nobody listens on (outside Ray's default
    worker ports 10002-19999 and Linux's ephemeral range)."""
    used = {c.laddr.port for c in psutil.net_connections("inet") if c.laddr}
    rng = secrets.SystemRandom()
    while True:
        base = rng.randrange(20000, 30000 - size, 50)
        if not used & set(range(base, base + size)):
            return base


class Node:
    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc, self.log = proc, log

    def wait_started(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start failed:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the node's whole tree (ray start, GCS, raylet, workers)."""
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            procs = []
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=10)
        with contextlib.suppress(Exception):
            self.proc.wait(5)


class LocalCluster:
    """``ray start --head`` plus ``ray start --address`` nodes, one CPU each."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="clr_ray_", dir="/tmp"))
        self.token = secrets.token_hex(16)
        self.base = free_block()
        self.port = self.base
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[Node] = []
        self.started = 0  # nodes started so far, for their log and temp dir names

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token,
                   RAY_USAGE_STATS_ENABLED="0",
                   # the head's client server waits this long for the Python process it
                   # starts per client connection (30 s by default: too short on a busy
                   # 2-core machine, where it fails the connection)
                   RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S="120",
                   PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
        return env

    def _start(self, args: list[str], slot: int) -> Node:
        """A node on the ports of ``slot`` (0: the head), in that slot of ``nodes``: a
        node started again takes its predecessor's ports and place."""
        p = self.base + 20 * slot
        ports = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--num-gpus=0",
                 "--object-store-memory=78643200", "--disable-usage-stats", "--block",
                 f"--node-manager-port={p + 1}", f"--object-manager-port={p + 2}",
                 f"--dashboard-agent-listen-port={p + 3}", f"--dashboard-agent-grpc-port={p + 4}",
                 f"--runtime-env-agent-port={p + 5}", f"--metrics-export-port={p + 6}",
                 f"--min-worker-port={p + 10}", f"--max-worker-port={p + 19}"]
        log = self.tmp / f"node{self.started}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([RAY, "start", *args, *ports], stdout=out,
                                    stderr=subprocess.STDOUT, env=self.env(),
                                    start_new_session=True, cwd=self.tmp)
        self.started += 1
        node = Node(proc, log)
        if slot < len(self.nodes):
            self.nodes[slot] = node
        else:
            self.nodes.append(node)
        return node

    def start_head(self) -> Node:
        """The head, or a new one in the place of one killed."""
        return self._start(["--head", f"--port={self.port}", "--include-dashboard=false",
                            f"--dashboard-port={self.base + 7}",
                            f"--ray-client-server-port={self.base + 8}",
                            # a head started again gets a new one: Ray takes the old one's
                            # record, with a node still holding its address, for a running head
                            f"--temp-dir={self.tmp / f'ray{self.started}'}"], 0)

    def add_node(self) -> Node:
        return self._start([f"--address={self.address}"], len(self.nodes))

    def restore(self) -> None:
        """Two nodes again after a test killed the head: a new head if it is dead, and the
        second node replaced (the old one belongs to the old head, which a new head does
        not take back)."""
        if self.nodes[0].proc.poll() is not None:
            self.start_head().wait_started()
        for node in self.nodes[1:]:
            node.kill()
        del self.nodes[1:]
        self.add_node().wait_started()

    @property
    def client_address(self) -> str:
        return f"ray://127.0.0.1:{self.base + 8}"

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)
