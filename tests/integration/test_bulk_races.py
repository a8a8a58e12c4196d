"""A bulk racing single commands on the same issues stays serial per issue: its slices travel
on the issues' shard queues, so each issue's commands, the bulk's item among them, are applied
one at a time (over HTTP, on the distributed stack with two commands workers and
``AGENTQ_BULK_SLICES=true``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.conftest import ServiceUrls, stack_of_its_own
from tests.e2e.client import Api, Company
from tests.procs import Stack

ISSUES = 40
EDITS = 3  # single commands on each issue while the bulk runs


@pytest.fixture(scope="module")
def sliced(service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The distributed stack with two commands workers, applying bulks in slices."""
    log_dir: Path = tmp_path_factory.mktemp("sliced")
    overrides = {"AGENTQ_BULK_SLICES": "true"}
    with stack_of_its_own(service_urls, log_dir, workers=2, overrides=overrides) as stack:
        yield stack


def _wait_commands(acme: Company, command_ids: list[str], timeout_s: float = 120) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    done: dict[str, Any] = {}
    while len(done) < len(command_ids) and time.monotonic() < deadline:
        for cid in command_ids:
            if cid not in done:
                body = acme.ok("GET", f"/commands/{cid}")
                if body["status"] != "accepted":
                    done[cid] = body
        time.sleep(0.05)
    assert len(done) == len(command_ids), f"{len(command_ids) - len(done)} commands never applied"
    return [done[cid] for cid in command_ids]


def _async(acme: Company, method: str, path: str, body: Any) -> Any:
    accepted = acme.call(method, path, body, headers={"Prefer": "respond-async"})
    assert accepted.status_code == 202, accepted.text
    return accepted


def test_a_bulk_racing_single_commands_on_its_issues_stays_serial_per_issue(
    sliced: Stack, engine: Engine
) -> None:
    with Api(sliced.base_url, sliced.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent(capacity=ISSUES)
        issues = [acme.issue(f"raced {i}")["id"] for i in range(ISSUES)]
        edits = [
            _async(acme, "PATCH", f"/issues/{issue}", {"title": f"edit {issue} 0"})
            for issue in issues
        ]
        bulk = _async(
            acme,
            "POST",
            "/issues/bulk",
            {"ids": issues, "op": "assign", "args": {"agentId": agent["id"]}},
        )
        for n in range(1, EDITS):
            edits.extend(
                _async(acme, "PATCH", f"/issues/{issue}", {"title": f"edit {issue} {n}"})
                for issue in issues
            )
        results = _wait_commands(acme, [e.json()["commandId"] for e in edits])
        location = bulk.headers["location"].split(acme.prefix, 1)[1]
        deadline = time.monotonic() + 120
        while (job := acme.ok("GET", location))["status"] != "done":
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
    # Every command applied, none refused or retried into another order: each issue's
    # versions run 1, 2, 3… with one entry each, the bulk's assignment among its edits.
    assert all(r["status"] == "applied" for r in results), results
    assert (job["succeeded"], job["failed"]) == (ISSUES, 0), job
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.activity.c.issue_id, t.activity.c.type, t.activity.c.version)
            .where(t.activity.c.issue_id.in_(issues))
            .order_by(t.activity.c.issue_id, t.activity.c.version)
        ).all()
        final = dict(
            conn.execute(
                sa.select(t.issues.c.id, t.issues.c.title).where(t.issues.c.id.in_(issues))
            ).all()
        )
    for issue in issues:
        mine = [row for row in rows if row.issue_id == issue]
        assert [row.version for row in mine] == list(range(1, EDITS + 3)), mine
        assert [row.type for row in mine].count("issue.assigned") == 1, mine
        # The edits of one issue were applied in the order they were accepted.
        assert final[issue] == f"edit {issue} {EDITS - 1}"
