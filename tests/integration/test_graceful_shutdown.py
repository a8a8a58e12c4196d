"""SIGTERM to a commands worker under load, and to a bulk worker mid-bulk: each finishes or
gives back its in-flight messages, and a worker started afterwards applies the rest, each
exactly once."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.benchmarks.seed import seed_issues
from tests.conftest import stack_of_its_own
from tests.e2e.client import Api
from tests.integration.conftest import wait_until
from tests.procs import ServiceUrls, Stack

BULK_SIZE = 3000

ISSUES, PATCHES = 20, 50


@pytest.fixture
def one_worker(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[Stack]:
    with stack_of_its_own(service_urls, tmp_path) as stack:
        yield stack


def test_a_worker_stopped_mid_load_loses_nothing_and_applies_nothing_twice(
    one_worker: Stack, engine: Engine
) -> None:
    with Api(one_worker.base_url, one_worker.admin_token) as api:
        acme = api.new_company()
        issues = [acme.issue(f"graceful {i}")["id"] for i in range(ISSUES)]
        command_ids: list[str] = []
        lock = threading.Lock()
        stopped = threading.Event()

        def send(issue_ids: list[str]) -> None:
            for n in range(PATCHES):
                if n == PATCHES // 2:  # the second half once the worker is gone
                    stopped.wait(120)
                for issue_id in issue_ids:
                    accepted = acme.call(
                        "PATCH",
                        f"/issues/{issue_id}",
                        {"title": f"edit {n}"},
                        headers={"Prefer": "respond-async"},
                    )
                    assert accepted.status_code == 202, accepted.text
                    with lock:
                        command_ids.append(accepted.json()["commandId"])

        senders = [threading.Thread(target=send, args=(issues[i::4],)) for i in range(4)]

        def applied_count() -> int:
            with lock:
                sent = list(command_ids)
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        sa.select(sa.func.count()).where(t.applied_commands.c.id.in_(sent))
                    ).scalar_one()
                )

        for sender in senders:
            sender.start()
        try:
            # The worker is busy applying when it is told to stop.
            wait_until(lambda: applied_count() > 0, "the worker applied a first command")
            worker = next(p for p in one_worker.processes if p.name == "worker-commands-0")
            worker.popen.send_signal(signal.SIGTERM)
            assert worker.popen.wait(60) == 0, worker.tail()
        finally:
            stopped.set()
        for sender in senders:
            sender.join()
        applied_before_restart = applied_count()
        assert 0 < applied_before_restart < len(command_ids)  # stopped mid-load
        one_worker.start_worker("worker-commands-1")
        deadline = time.monotonic() + 120
        while (applied := applied_count()) < len(command_ids) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert applied == len(command_ids), f"{len(command_ids) - applied} commands lost"
        with engine.connect() as conn:
            versions = dict(
                conn.execute(
                    sa.select(t.issues.c.id, t.issues.c.version).where(t.issues.c.id.in_(issues))
                ).all()
            )
            updates = conn.execute(
                sa.select(sa.func.count()).where(
                    t.activity.c.issue_id.in_(issues), t.activity.c.type == "issue.updated"
                )
            ).scalar_one()
        # Each PATCH changes the title once: applied once each, the versions say so.
        assert versions == {issue_id: 1 + PATCHES for issue_id in issues}
        assert updates == ISSUES * PATCHES


@pytest.fixture
def quick_to_stop(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[Stack]:
    """Workers that give back what they have not finished one second after SIGTERM."""
    with stack_of_its_own(
        service_urls, tmp_path, overrides={"AGENTQ_STOP_TIMEOUT_S": "1"}
    ) as stack:
        yield stack


def test_a_bulk_worker_stopped_mid_bulk_gives_it_back_and_the_next_one_finishes_it_once(
    quick_to_stop: Stack, engine: Engine
) -> None:
    with Api(quick_to_stop.base_url, quick_to_stop.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent()
        ids = seed_issues(engine, acme.id, BULK_SIZE, tag=acme.id[-12:])
        accepted = acme.call(
            "POST",
            "/issues/bulk",
            {"ids": ids, "op": "assign", "args": {"agentId": agent["id"]}},
            headers={"Prefer": "respond-async"},
        )
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["location"].split(acme.prefix, 1)[1]
        bulk_id = location.rsplit("/", 1)[1]
        with engine.connect() as conn:  # wait until it is under way
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                recorded = conn.execute(
                    sa.select(sa.func.count()).where(
                        t.bulk_items.c.bulk_id == bulk_id, t.bulk_items.c.outcome.is_not(None)
                    )
                ).scalar_one()
                conn.rollback()
                if recorded:
                    break
                time.sleep(0.05)
        worker = next(p for p in quick_to_stop.processes if p.name == "worker-bulk")
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(30) == 0, worker.tail()
        job = acme.ok("GET", location)
        assert job["status"] != "done" and job["succeeded"] < BULK_SIZE  # stopped mid-bulk
        quick_to_stop.start_bulk("worker-bulk-2")
        deadline = time.monotonic() + 180
        while job["status"] != "done" and time.monotonic() < deadline:
            time.sleep(0.5)
            job = acme.ok("GET", location)
    assert job["status"] == "done", job
    assert (job["total"], job["succeeded"], job["failed"]) == (BULK_SIZE, BULK_SIZE, 0)
    with engine.connect() as conn:
        assigned = conn.execute(
            sa.select(sa.func.count()).where(
                t.activity.c.issue_id.in_(ids), t.activity.c.type == "issue.assigned"
            )
        ).scalar_one()
    assert assigned == BULK_SIZE  # each issue assigned once, by the first runner or the next
