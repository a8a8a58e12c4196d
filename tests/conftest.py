"""Shared fixtures: the real PostgreSQL, RabbitMQ and Redis, each run isolated.

Every test run gets its own PostgreSQL database and RabbitMQ vhost, so runs never see
each other's data. Under ``CI=true`` a missing service fails the run; locally the tests
that need it are skipped with a message naming it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.procs import ServiceUrls, Stack, start_distributed

PG_HOST, PG_PORT = "127.0.0.1", 5432
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SOAK = bool(os.environ.get("AGENTQ_SOAK"))

#: tests/soak/ runs only under ``AGENTQ_SOAK=1`` (``make soak``): it starts a RabbitMQ cluster
#: of its own and takes minutes. Without it the directory is not collected at all (neither run
#: nor reported as skipped), so ``make test`` and a plain ``pytest`` never see it.
collect_ignore_glob = [] if SOAK else ["soak/*"]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _require(name: str, host: str, port: int) -> None:
    if _answers(host, port):
        return
    message = f"{name} is not answering on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: services are required)", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def service_urls() -> Iterator[ServiceUrls]:
    """A fresh database and vhost for this run (dropped at the end), after a migration."""
    _require("PostgreSQL", PG_HOST, PG_PORT)
    _require("RabbitMQ", RABBIT_HOST, RABBIT_PORT)
    _require("Redis", REDIS_HOST, REDIS_PORT)
    run = uuid.uuid4().hex[:10]
    database, vhost = f"agentq_test_{run}", f"agentq_test_{run}"
    _psql(f'CREATE DATABASE "{database}"')
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    urls = ServiceUrls(
        database_url=f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{database}",
        broker_url=f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{vhost}",
        redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{int(run[:4], 16) % 15 + 1}",
    )
    from service.migrate import upgrade
    from service.settings import Settings

    upgrade(Settings(database_url=urls.database_url))
    try:
        yield urls
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def vhost_of_its_own(service_urls: ServiceUrls) -> Iterator[ServiceUrls]:
    """The run's database and Redis with a new vhost: no other stack's worker consumes there."""
    vhost = f"agentq_test_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield ServiceUrls(
            database_url=service_urls.database_url,
            broker_url=f"amqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{vhost}",
            redis_url=service_urls.redis_url,
        )
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def stack_of_its_own(
    service_urls: ServiceUrls,
    log_dir: Path,
    *,
    workers: int = 1,
    overrides: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """A distributed stack on a vhost of its own (no other stack takes its messages), every
    process stopped at the end."""
    with vhost_of_its_own(service_urls) as urls:
        stack = start_distributed(urls.env(), log_dir, workers=workers, overrides=overrides)
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def own_vhost_urls(service_urls: ServiceUrls) -> Iterator[ServiceUrls]:
    with vhost_of_its_own(service_urls) as urls:
        yield urls


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault suite stops and restarts the machine's PostgreSQL, RabbitMQ and Redis: it runs
    last, so that no other test meets a service on its way back."""
    items.sort(key=lambda item: "faults" in item.path.parts)
