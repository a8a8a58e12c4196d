"""SIGTERM to a commands worker whose command cannot be applied because PostgreSQL is down:
the worker stops in bounded time and gives the command back, and it is applied once later."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.settings import Settings
from service.store import tables as t
from tests.conftest import stack_of_its_own
from tests.e2e.client import Api
from tests.faults.outages import ensure_all_up, outage
from tests.procs import ServiceUrls, Stack

#: How long a stopping worker waits for its in-flight command (the default), in seconds.
STOP_TIMEOUT_S = Settings.model_fields["stop_timeout_s"].default


@pytest.fixture
def one_worker(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[Stack]:
    # Tokens stay cached through the outage, so the API can accept the write.
    overrides = {"AGENTQ_AUTH_CACHE_S": "60"}
    with stack_of_its_own(service_urls, tmp_path, overrides=overrides) as stack:
        try:
            yield stack
        finally:
            ensure_all_up()


def test_a_worker_stopped_while_the_database_is_down_gives_its_command_back(
    one_worker: Stack, engine: Engine
) -> None:
    with Api(one_worker.base_url, one_worker.admin_token) as api:
        acme = api.new_company()
        issue = acme.issue("applied after the outage")
        worker = next(p for p in one_worker.processes if p.name == "worker-commands-0")
        with outage("postgresql"):
            accepted = acme.call(
                "PATCH",
                f"/issues/{issue['id']}",
                {"title": "edited during the outage"},
                headers={"Prefer": "respond-async"},
            )
            assert accepted.status_code == 202, accepted.text
            command_id = accepted.json()["commandId"]
            time.sleep(2)  # the worker is retrying it in place
            started = time.monotonic()
            worker.popen.send_signal(signal.SIGTERM)
            assert worker.popen.wait(STOP_TIMEOUT_S + 15) == 0, worker.tail()
            stopped_in_s = time.monotonic() - started
            assert stopped_in_s < STOP_TIMEOUT_S + 5  # bounded, not a hang
        one_worker.start_worker("worker-commands-1")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                status = conn.execute(
                    sa.select(t.applied_commands.c.status).where(
                        t.applied_commands.c.id == command_id
                    )
                ).scalar()
            if status is not None:
                break
            time.sleep(0.5)
        assert status == "applied", "the command was lost"
        with engine.connect() as conn:
            title, version = conn.execute(
                sa.select(t.issues.c.title, t.issues.c.version).where(t.issues.c.id == issue["id"])
            ).one()
            updates = conn.execute(
                sa.select(sa.func.count()).where(
                    t.activity.c.issue_id == issue["id"], t.activity.c.type == "issue.updated"
                )
            ).scalar_one()
    assert (title, version, updates) == ("edited during the outage", 2, 1)
    print(f"\nstopped in {stopped_in_s:.1f}s with its command unapplied; applied once after")
