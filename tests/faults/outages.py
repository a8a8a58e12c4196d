"""Stopping and starting the machine's own PostgreSQL, RabbitMQ and Redis for the fault suite.

Each service is started again with the command the README gives for a fresh machine, and the
suite waits until it answers: CI runs on this machine against the services as they are left.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SERVICES", "ensure_all_up", "outage"]

#: How long a service may take to answer again after its start command, in seconds.
START_TIMEOUT_S = 90


def _pg_cluster() -> list[str]:
    return ["pg_ctlcluster", "--skip-systemctl-redirect", sorted(os.listdir("/etc/postgresql"))[-1]]


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=120)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _postgres_ready() -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False, timeout=10
        ).returncode
        == 0
    )


def _rabbitmq_ready() -> bool:
    if not _answers(5672):
        return False
    return (
        subprocess.run(
            ["rabbitmqctl", "-q", "await_startup"], check=False, capture_output=True, timeout=60
        ).returncode
        == 0
    )


def _stop_postgres() -> None:
    _run(*_pg_cluster(), "main", "stop", "-m", "fast")


def _start_postgres() -> None:
    if not _postgres_ready():
        _run(*_pg_cluster(), "main", "start")


def _stop_rabbitmq() -> None:
    # The broker application stops (every connection is cut and the port closes); the Erlang
    # node stays, so it comes back in about a second instead of a full boot.
    _run("rabbitmqctl", "-q", "stop_app")


def _start_rabbitmq() -> None:
    if subprocess.run(["rabbitmqctl", "-q", "ping"], check=False, capture_output=True).returncode:
        _run("rabbitmq-server", "-detached")  # the node itself is down
    else:
        _run("rabbitmqctl", "-q", "start_app")


def _stop_redis() -> None:
    _run("redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave")


def _start_redis() -> None:
    if not _answers(6379):
        _run(
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        )


#: name → (stop, start, ready)
SERVICES = {
    "postgresql": (_stop_postgres, _start_postgres, _postgres_ready),
    "rabbitmq": (_stop_rabbitmq, _start_rabbitmq, _rabbitmq_ready),
    "redis": (_stop_redis, _start_redis, lambda: _answers(6379)),
}


def _start(name: str) -> None:
    _, start, ready = SERVICES[name]
    deadline = time.monotonic() + START_TIMEOUT_S
    start()
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not come back in {START_TIMEOUT_S}s")
        time.sleep(0.2)


@contextmanager
def outage(name: str) -> Iterator[None]:
    """``name`` is down inside the block, and up (answering) again after it, whatever happens."""
    stop, _, _ = SERVICES[name]
    try:
        stop()
        yield
    finally:
        _start(name)


def ensure_all_up() -> None:
    """Start whichever service is down (a test that failed half-way may have left one so)."""
    for name in SERVICES:
        _start(name)
