"""Randomized concurrent claims, checkpoints, completions, failures, reassigns and expiries on
the distributed stack (two commands workers): no issue ever has two leases at once, and no
call with a lease that was already released is ever accepted.

``AGENTQ_SOAK=1`` (``make soak``) runs ten times as many operations.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.e2e.client import Api, Company
from tests.history import check_history
from tests.procs import Stack

OPERATIONS = 100_000 if os.environ.get("AGENTQ_SOAK") else 10_000
THREADS = 16
AGENTS = 8
#: Issues kept open at once: a cancelled or finished one is replaced.
OPEN_ISSUES = 24
#: Some leases are short enough to expire during the run (the sweep runs every second).
LEASE_CHOICES_S = (10, 3600)
#: Clock slack between this process and PostgreSQL when judging "sent after released", in s.
SLACK_S = 0.05


@dataclass
class World:
    """What the drivers share: issue ids, every lease ever granted, every agent call made."""

    acme: Company
    agents: list[tuple[str, str]]
    issues: list[str]
    leases: list[tuple[str, str, str, str]] = field(default_factory=list)  # agent, iss, run, tok
    calls: list[tuple[str, float, int]] = field(default_factory=list)  # token, sent at, status
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(acme: Company, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=acme.api.base_url + acme.prefix,
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
    )


def _agent_step(world: World, rng: random.Random, clients: dict[str, httpx.Client]) -> None:
    agent_id, _ = rng.choice(world.agents)
    http = clients[agent_id]
    with world.lock:
        mine = [lease for lease in world.leases if lease[0] == agent_id]
    if not mine or rng.random() < 0.3:
        r = http.post(
            f"/agents/{agent_id}/claim", json={"leaseSeconds": rng.choice(LEASE_CHOICES_S)}
        )
        assert r.status_code in (200, 204, 409), r.text
        if r.status_code == 200:
            body = r.json()
            with world.lock:
                world.leases.append(
                    (agent_id, body["issue"]["id"], body["run"]["id"], body["lease"]["token"])
                )
        return
    _, issue_id, run_id, token = rng.choice(mine[-6:] if rng.random() < 0.8 else mine)
    verb = rng.choice(["checkpoint", "checkpoint", "complete", "fail", "handoff", "costs"])
    body: dict[str, Any] = {"leaseToken": token}
    if verb == "fail":
        body |= {"reason": "random", "retryable": rng.random() < 0.7}
    elif verb == "handoff":
        body["reason"] = "random"
    elif verb == "costs":
        body["usd"] = 0.01
    sent = time.time()
    r = http.post(f"/issues/{issue_id}/runs/{run_id}/{verb}", json=body)
    assert r.status_code in (200, 409), r.text
    if r.status_code == 409:
        assert r.json()["code"] in ("stale_lease", "frozen", "invalid_transition"), r.text
    with world.lock:
        world.calls.append((token, sent, r.status_code))


def _admin_step(world: World, rng: random.Random, http: httpx.Client) -> None:
    with world.lock:
        issue_id = rng.choice(world.issues)
    choice = rng.random()
    if choice < 0.4:
        agent_id = rng.choice(world.agents)[0]
        r = http.post(f"/issues/{issue_id}/reassign", json={"toAgentId": agent_id})
    elif choice < 0.7:
        r = http.post(f"/issues/{issue_id}/assign", json={"agentId": rng.choice(world.agents)[0]})
    elif choice < 0.85:
        r = http.post(
            f"/issues/{issue_id}/review", json={"decision": rng.choice(["accept", "reject"])}
        )
    else:
        r = http.post(f"/issues/{issue_id}/cancel", json={"reason": "random"})
    assert r.status_code in (200, 409), r.text
    status = r.json().get("status") if r.status_code == 200 else None
    if status in ("done", "cancelled", "failed"):
        fresh = http.post("/issues", json={"title": "replacement"})
        assert fresh.status_code == 201, fresh.text
        with world.lock:
            world.issues[world.issues.index(issue_id)] = fresh.json()["id"]


def _drive(world: World, seed: int, per_thread: int) -> None:
    rng = random.Random(seed)
    clients = {agent_id: _client(world.acme, token) for agent_id, token in world.agents}
    admin = _client(world.acme, world.acme.token)
    try:
        for _ in range(per_thread):
            if rng.random() < 0.75:
                _agent_step(world, rng, clients)
            else:
                _admin_step(world, rng, admin)
            with world.lock:
                world.done += 1
    finally:
        for client in [*clients.values(), admin]:
            client.close()


def test_randomized_concurrent_operations_never_double_lease_or_accept_a_stale_write(
    distributed: Stack, engine: Engine
) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        agents = []
        for i in range(AGENTS):
            agent = acme.agent(f"racer {i}", capacity=2)
            agents.append((agent["id"], acme.agent_token(agent["id"])))
        issues = [
            acme.issue(f"race {i}", assignedAgentId=agents[i % AGENTS][0])["id"]
            for i in range(OPEN_ISSUES)
        ]
        world = World(acme, agents, issues)
        per_thread = OPERATIONS // THREADS
        threads = [
            threading.Thread(target=_drive, args=(world, seed, per_thread))
            for seed in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert world.done == per_thread * THREADS

    with engine.connect() as conn:
        leases = conn.execute(
            sa.select(
                t.leases.c.token, t.leases.c.issue_id, t.leases.c.granted_at, t.leases.c.released_at
            )
            .join(t.issues, t.issues.c.id == t.leases.c.issue_id)
            .where(t.issues.c.company_id == acme.id)
            .order_by(t.leases.c.issue_id, t.leases.c.granted_at, t.leases.c.fence)
        ).all()
    assert len(leases) >= len({lease[3] for lease in world.leases}) > 50
    by_issue: dict[str, list[Any]] = {}
    for lease in leases:
        by_issue.setdefault(lease.issue_id, []).append(lease)
    double = 0
    for history in by_issue.values():
        for earlier, later in itertools.pairwise(history):
            if earlier.released_at is None or earlier.released_at > later.granted_at:
                double += 1
    assert double == 0, f"{double} overlapping leases"

    released: dict[str, datetime | None] = {lease.token: lease.released_at for lease in leases}
    stale_accepted = [
        (token, sent)
        for token, sent, status in world.calls
        if status == 200
        and released[token] is not None
        and sent > released[token].timestamp() + SLACK_S  # type: ignore[union-attr]
    ]
    assert stale_accepted == [], f"{len(stale_accepted)} stale writes accepted"
    refused = sum(1 for _, _, status in world.calls if status == 409)
    assert refused > 0  # stale tokens were really tried
    assert check_history(engine, acme.id) > OPEN_ISSUES
