"""Reaching a Ray cluster: what ``RAY_ADDRESS`` means, a time-bounded probe before Ray
is asked to connect, and each way it can fail said in one line a user can act on.

Why: ``ray.init`` on an address nobody answers blocks for minutes and then ends its
process, and on a wrong token it blocks ~20 s and raises a ``ConnectionError`` whose
reason is only in its log. So the cluster is probed here first (a TCP connect in the
server, then the cluster's metadata read through Ray's GCS client in the bridge, see
``ray_bridge``) and every failure becomes one of the messages below.

``RAY_ADDRESS`` forms: ``host:port`` (the head's GCS port, as ``ray start --head
--port`` printed it; needs only ``ray``), ``ray://host:10001`` (the Ray client; needs
``ray[client]``, i.e. grpcio: ``requirements-ray.txt``), ``auto`` (a cluster started on
this machine), or unset (a private local Ray started for this server).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from clr_core.errors import JobError

__all__ = [
    "AUTH_HINT",
    "CLIENT_PORT",
    "RayAddress",
    "client_missing",
    "cluster_lost",
    "connect_failed",
    "connect_timed_out",
    "parse_address",
    "probe",
    "token_refused",
    "version_problem",
]

#: The Ray client's default port on the head (``ray start --ray-client-server-port``).
CLIENT_PORT = 10001
AUTH_HINT = ("set RAY_AUTH_TOKEN to the cluster's token (print it on the head with "
             "`ray get-auth-token`), or RAY_AUTH_TOKEN_PATH to a file holding it")


@dataclass(frozen=True)
class RayAddress:
    """A parsed ``RAY_ADDRESS``: ``raw`` as given; ``host``/``port`` when it names one;
    ``client`` for ``ray://``; neither host nor ``auto`` means a private local Ray."""

    raw: str
    host: str | None = None
    port: int | None = None
    client: bool = False

    @property
    def local(self) -> bool:
        return not self.raw

    @property
    def auto(self) -> bool:
        return self.raw == "auto"

    @property
    def loopback(self) -> bool:
        """A cluster on this machine: its workers can import this checkout as it is."""
        return self.local or self.auto or (self.host or "") in (
            "127.0.0.1", "localhost", "::1", socket.gethostname())

    def __str__(self) -> str:
        return self.raw or "a local Ray started by this server"


def parse_address(raw: str | None) -> RayAddress:
    """``RAY_ADDRESS`` (or an ``address=``) as a ``RayAddress``; a form Ray cannot use is
    a ``JobError`` naming the two it can."""
    raw = (raw or "").strip()
    if raw.lower() in ("", "local"):
        return RayAddress("")
    if raw.lower() == "auto":
        return RayAddress("auto")
    client = raw.startswith("ray://")
    rest = raw[len("ray://"):] if client else raw
    if "://" in rest or "/" in rest:
        raise JobError(f"RAY_ADDRESS={raw!r} is not an address Ray takes: use host:port (the "
                       f"head's port, e.g. 127.0.0.1:6379) or ray://host:{CLIENT_PORT}")
    host, sep, port = rest.rpartition(":")
    if not sep:
        if client:
            return RayAddress(raw, rest, CLIENT_PORT, True)
        raise JobError(f"RAY_ADDRESS={raw!r} has no port: use host:port (the head's port, "
                       f"e.g. {rest}:6379) or ray://{rest}:{CLIENT_PORT}")
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise JobError(f"RAY_ADDRESS={raw!r}: {port!r} is not a port number")
    return RayAddress(raw, host.strip("[]"), int(port), client)


def probe(address: RayAddress, timeout_s: float = 3.0) -> str | None:
    """None when something accepts a TCP connection at the address, else why not, as a
    one-line message (nothing listening, no such host, no answer in time)."""
    if address.host is None:
        return None
    where = f"the Ray cluster at {address.raw}"
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout_s):
            return None
    except ConnectionRefusedError:
        return (f"Nothing answers at {address.raw} (connection refused): is the Ray cluster "
                f"running? Start it with `ray start --head --port={address.port}`, or fix "
                "RAY_ADDRESS.")
    except socket.gaierror as e:
        return f"Cannot reach {where}: unknown host {address.host!r} ({e.strerror})."
    except TimeoutError:
        return (f"Cannot reach {where}: no answer within {timeout_s:.0f} s (a firewall, a "
                "wrong host, or the head is down).")
    except OSError as e:
        return f"Cannot reach {where}: {e.strerror or e}."


def token_refused(address: RayAddress, token_set: bool) -> str:
    what = "refused our token" if token_set else "asks for a token and none is set"
    return f"The Ray cluster at {address.raw} {what}: {AUTH_HINT}."


def version_problem(cluster: dict, ray_version: str, python_version: str,
                    python_level: str = "patch") -> str | None:
    """Why this process cannot join a cluster whose metadata is ``cluster`` (Ray's own
    rule: the same Ray, and Python to the patch level unless
    ``RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor``), or None."""
    theirs_ray = str(cluster.get("ray_version", ""))
    theirs_py = str(cluster.get("python_version", ""))
    if not theirs_ray:
        return None
    digits = 2 if python_level == "minor" else 3
    same_py = theirs_py.split(".")[:digits] == python_version.split(".")[:digits]
    if theirs_ray == ray_version and same_py:
        return None
    return (f"The Ray cluster runs Ray {theirs_ray} on Python {theirs_py}, this app Ray "
            f"{ray_version} on Python {python_version}: install the same versions on both.")


def client_missing(address: RayAddress) -> str:
    return (f"RAY_ADDRESS={address.raw} uses the Ray client, which needs grpcio: "
            "pip install -r requirements-ray.txt (or use the head's host:port form).")


def connect_timed_out(address: RayAddress, timeout_s: float) -> str:
    return (f"The Ray cluster at {address} did not finish connecting within "
            f"{timeout_s:.0f} s; check it with `ray status --address {address.raw or 'auto'}`.")


def connect_failed(address: RayAddress, error: BaseException) -> str:
    """Any other failure to connect, in one line: the error's first line, and when it
    carries the server's traceback (the Ray client's "Initialization failure from
    server"), that traceback's last line, which is the reason."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = lines[0] if lines else ""
    if len(lines) > 1 and any(line.startswith("Traceback") for line in lines):
        said = f"{said.rstrip(':')}: {lines[-1]}"
    return f"Could not connect to the Ray cluster at {address}: {type(error).__name__}: {said}"


def cluster_lost(address: RayAddress, reason: str, jobs: int) -> str:
    """What a job that was running when its cluster went away says."""
    failed = "1 job failed, its curve is kept" if jobs == 1 else (
        f"{jobs} jobs failed, their curves are kept")
    return (f"The Ray cluster at {address} stopped answering ({reason}); {failed}. Start "
            "again once it is back.")
