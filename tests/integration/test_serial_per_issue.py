"""Commands for one issue are applied one at a time, in order (DESIGN.md rule 1), over HTTP
on the distributed stack with two commands workers competing for the shards."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.statuses import TRANSITIONS, IssueStatus
from service.store import tables as t
from tests.e2e.client import Api, Company
from tests.procs import Stack

#: Activity types that change an issue's version (a comment does not).
VERSIONED = {
    "issue.created",
    "issue.assigned",
    "issue.reassigned",
    "issue.cancelled",
    "issue.updated",
}


def _company(stack: Stack) -> tuple[Api, Company]:
    api = Api(stack.base_url, stack.admin_token)
    return api, api.new_company()


def _wait_commands(
    acme: Company, command_ids: list[str], timeout_s: float = 60
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(command_ids) and time.monotonic() < deadline:
        for cid in command_ids:
            if cid not in done:
                body = acme.ok("GET", f"/commands/{cid}")
                if body["status"] != "accepted":
                    done[cid] = body
        time.sleep(0.05)
    assert len(done) == len(command_ids), f"{len(command_ids) - len(done)} commands never applied"
    return [done[cid] for cid in command_ids]


def test_commands_for_one_issue_are_applied_in_the_order_they_were_accepted(
    distributed: Stack,
) -> None:
    api, acme = _company(distributed)
    with api:
        issue = acme.issue("ordering")
        command_ids = []
        for i in range(40):
            accepted = acme.call(
                "PATCH",
                f"/issues/{issue['id']}",
                {"title": f"edit {i}"},
                headers={"Prefer": "respond-async"},
            )
            assert accepted.status_code == 202, accepted.text
            command_ids.append(accepted.json()["commandId"])
        results = _wait_commands(acme, command_ids)
        versions = [r["result"]["version"] for r in results]
        assert versions == list(range(2, 42)), versions
        assert acme.ok("GET", f"/issues/{issue['id']}")["title"] == "edit 39"


def _fire(
    acme: Company,
    issue_id: str,
    agents: list[str],
    team: str,
    seed: int,
    log: list[tuple[str, int, Any]],
) -> None:
    rng = random.Random(seed)
    client = httpx.Client(
        base_url=acme.api.base_url, timeout=60, headers={"Authorization": f"Bearer {acme.token}"}
    )
    path = f"{acme.prefix}/issues/{issue_id}"
    with client:
        for _ in range(6):
            kind = rng.choice(["assign", "reassign_agent", "reassign_team", "patch", "comment"])
            if kind == "assign":
                r = client.post(path + "/assign", json={"agentId": rng.choice(agents)})
            elif kind == "reassign_agent":
                r = client.post(path + "/reassign", json={"toAgentId": rng.choice(agents)})
            elif kind == "reassign_team":
                r = client.post(path + "/reassign", json={"toTeamId": team})
            elif kind == "patch":
                r = client.patch(path, json={"title": f"t{seed}-{rng.random()}"})
            else:
                r = client.post(path + "/comments", json={"text": f"c{seed}", "author": "user:x"})
            log.append((kind, r.status_code, r.json()))


def test_fifty_concurrent_clients_leave_a_valid_contiguous_history_with_no_lost_update(
    distributed: Stack, engine: Engine
) -> None:
    api, acme = _company(distributed)
    with api:
        team = acme.team()
        dispatch_target = acme.agent("team-agent", teamIds=[team["id"]], capacity=100)
        agents = [acme.agent("a")["id"], acme.agent("b")["id"]]
        issue = acme.issue("contended")
        log: list[tuple[str, int, Any]] = []
        threads = [
            threading.Thread(target=_fire, args=(acme, issue["id"], agents, team["id"], i, log))
            for i in range(50)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        final = acme.ok("GET", f"/issues/{issue['id']}")

    assert len(log) == 300
    statuses = Counter(code for _, code, _ in log)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses[200] > 10, statuses  # plenty of real changes, not just rejections

    with engine.connect() as conn:
        entries = conn.execute(
            sa.select(t.activity)
            .where(t.activity.c.issue_id == issue["id"])
            .order_by(t.activity.c.version, t.activity.c.at)
        ).all()
    history = [e for e in entries if e.type in VERSIONED]
    assert [e.version for e in history] == list(range(1, final["version"] + 1))
    assert history[0].from_status is None and history[0].to_status == "queued"
    for before, after in itertools.pairwise(history):
        assert after.from_status == before.to_status, (before, after)
        if after.type != "issue.updated":
            moved = (IssueStatus(after.from_status), IssueStatus(after.to_status))
            assert moved in TRANSITIONS, moved
    assert history[-1].to_status == final["status"]

    # No lost update: every accepted change holds a version of its own, and the last edit
    # by version is the title the issue has.
    changed = [body for kind, code, body in log if code == 200 and kind != "comment"]
    versions = [body["version"] for body in changed]
    assert len(versions) == len(set(versions)), "two changes reported the same version"
    patches = [body for kind, code, body in log if kind == "patch" and code == 200]
    last_patch = max(patches, key=lambda b: b["version"])
    later = [b for b in changed if b["version"] > last_patch["version"]]
    assert all(b["title"] == last_patch["title"] for b in later)
    assert final["title"] == last_patch["title"]
    comments = sum(1 for kind, code, _ in log if kind == "comment" and code == 201)
    assert sum(1 for e in entries if e.type == "issue.commented") == comments
    dispatched = [e for e in history if e.actor == "system:dispatcher"]
    if any(kind == "reassign_team" and code == 200 for kind, code, _ in log):
        assert dispatched, "a reassign to the team should have been dispatched at once"
    assert all(e.to_status == "assigned" for e in dispatched)
    assert dispatch_target["id"] in {b["assignedAgentId"] for b in changed}
