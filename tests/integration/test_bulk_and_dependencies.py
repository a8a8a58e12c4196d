"""Bulk at 10,000 issues and dependency chains, on the distributed stack."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.commands.bulk_runner import CHUNK
from service.ids import new_id
from service.store import tables as t
from tests.e2e.client import Api, Company
from tests.procs import Stack

BULK_SIZE = 10_000
#: Chunks of the bulk that may be applied while one single command waits: the one it was
#: queued behind, the next, and two more of slack for the moment the answer travels back.
MAX_CHUNKS_BEHIND = 4


def _insert_queued_issues(engine: Engine, company_id: str, count: int) -> list[str]:
    """Seed issues straight into the table: the bulk is under test here, not creation."""
    base = datetime.now(UTC)
    rows = [
        {
            "id": new_id("iss"),
            "company_id": company_id,
            "title": f"seeded {i}",
            "status": "queued",
            "labels": [],
            "dependencies": [],
            "created_at": base + timedelta(microseconds=i),
            "updated_at": base,
            "version": 1,
            "attempts": 0,
            "max_attempts": 3,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(t.issues.insert(), rows)
    return [str(r["id"]) for r in rows]


def test_a_bulk_assign_of_ten_thousand_issues_leaves_room_for_other_commands(
    distributed: Stack, engine: Engine
) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent()
        other = acme.issue("meanwhile")
        ids = _insert_queued_issues(engine, acme.id, BULK_SIZE)
        started = time.monotonic()
        accepted = acme.call(
            "POST",
            "/issues/bulk",
            {"ids": ids, "op": "assign", "args": {"agentId": agent["id"]}},
            headers={"Prefer": "respond-async"},
        )
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["location"].split(acme.prefix, 1)[1]
        meanwhile = _single_commands_meanwhile(acme, other["id"], location)
        job = _wait_done(acme, location, timeout_s=600)
        elapsed = time.monotonic() - started
    assert job["total"] == BULK_SIZE and job["succeeded"] == BULK_SIZE and job["failed"] == 0
    assert [r["id"] for r in job["results"]] == ids
    assert all(r["ok"] and r["status"] == "assigned" for r in job["results"])
    with engine.connect() as conn:
        assigned = conn.execute(
            sa.select(sa.func.count()).where(
                t.issues.c.id.in_(ids),
                t.issues.c.status == "assigned",
                t.issues.c.assigned_agent_id == agent["id"],
            )
        ).scalar_one()
    assert assigned == BULK_SIZE
    latencies = [latency for latency, _ in meanwhile]
    behind = max(items for _, items in meanwhile)
    print(
        f"\nbulk of {BULK_SIZE}: {elapsed:.1f}s ({BULK_SIZE / elapsed:.0f} issues/s); "
        f"{len(meanwhile)} single commands meanwhile: p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
        f"at most {behind} bulk items applied while one waited"
    )
    assert len(meanwhile) >= 5
    # Never stuck behind the whole bulk: a single command waits behind the chunk in flight on
    # its shard, and the next (the runner publishes a chunk once the one before is applied).
    # Counted in the bulk's own items, not in seconds, so a machine that stalls for a while
    # (a slow fsync, a loaded CI box) stalls the bulk as much as the command.
    assert behind <= MAX_CHUNKS_BEHIND * CHUNK, meanwhile


def _single_commands_meanwhile(
    acme: Company, issue_id: str, location: str
) -> list[tuple[float, int]]:
    """PATCH another issue while the bulk runs: each one's latency, and how many of the
    bulk's items were applied while it waited."""
    meanwhile: list[tuple[float, int]] = []
    for i in range(1000):
        # Read just before the PATCH, not before the pause: the items applied during the
        # pause were not applied while the command waited (and a faster bulk applies more).
        progress = _applied(acme.ok("GET", location))
        begun = time.monotonic()
        acme.ok("PATCH", f"/issues/{issue_id}", {"title": f"edit {i}"})
        latency = time.monotonic() - begun
        job = acme.ok("GET", location)
        meanwhile.append((latency, _applied(job) - progress))
        if job["status"] == "done":
            break
        time.sleep(0.2)
    return meanwhile


def _applied(job: Any) -> int:
    return int(job["succeeded"]) + int(job["failed"])


def _wait_done(acme: Company, location: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = acme.ok("GET", location)
        if job["status"] == "done":
            return job
        time.sleep(0.5)
    raise AssertionError("the bulk did not finish")


def test_a_three_level_dependency_chain_unblocks_in_order(distributed: Stack) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent(capacity=3)
        token = acme.agent_token(agent["id"])
        first = acme.issue("first", assignedAgentId=agent["id"])
        second = acme.issue("second", assignedAgentId=agent["id"], dependencies=[first["id"]])
        third = acme.issue("third", assignedAgentId=agent["id"], dependencies=[second["id"]])
        order = []
        for expected in (first, second, third):
            claim = _claim_waiting(acme, agent["id"], token)
            assert claim["issue"]["id"] == expected["id"]
            order.append(claim["issue"]["title"])
            assert (
                acme.call("POST", f"/agents/{agent['id']}/claim", {}, token=token).status_code
                == 204
            )
            run = f"/issues/{expected['id']}/runs/{claim['run']['id']}"
            acme.ok("POST", run + "/complete", {"leaseToken": claim["lease"]["token"]}, token=token)
            acme.ok("POST", f"/issues/{expected['id']}/review", {"decision": "accept"})
    assert order == ["first", "second", "third"]


def _claim_waiting(acme: Company, agent_id: str, token: str) -> Any:
    """A long-poll claim: it must return as soon as the dependency is done."""
    answer: dict[str, Any] = {}

    def poll() -> None:
        answer["r"] = acme.call(
            "POST", f"/agents/{agent_id}/claim", {"waitSeconds": 10}, token=token
        )

    thread = threading.Thread(target=poll)
    thread.start()
    thread.join(15)
    assert answer["r"].status_code == 200, answer["r"].text
    return answer["r"].json()
