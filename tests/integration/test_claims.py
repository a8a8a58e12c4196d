"""Claims and leases under concurrency, on the distributed stack (two commands workers)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.e2e.client import Api, Company
from tests.procs import SWEEP_INTERVAL_S, Stack

#: The shortest lease a claim may ask for, in seconds (docs/api.md).
MIN_LEASE_S = 10


def _agent_client(acme: Company, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=acme.api.base_url + acme.prefix,
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
    )


def _work(
    acme: Company, agent_id: str, token: str, claimed: list[tuple[str, str]], total: int
) -> None:
    """Claim and complete until every issue has been claimed (a 204 only means "not now")."""
    deadline = time.monotonic() + 240
    with _agent_client(acme, token) as http:
        while len(claimed) < total and time.monotonic() < deadline:
            r = http.post(f"/agents/{agent_id}/claim", json={"waitSeconds": 1})
            if r.status_code == 204:
                continue
            assert r.status_code == 200, r.text
            body = r.json()
            claimed.append((body["issue"]["id"], agent_id))
            done = http.post(
                f"/issues/{body['issue']['id']}/runs/{body['run']['id']}/complete",
                json={"leaseToken": body["lease"]["token"]},
            )
            assert done.status_code == 200, done.text


def test_fifty_agents_claiming_five_hundred_issues_claim_each_exactly_once(
    distributed: Stack, engine: Engine
) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        team = acme.team()
        agents = [acme.agent(f"a{i}", teamIds=[team["id"]]) for i in range(50)]
        tokens = [acme.agent_token(a["id"]) for a in agents]
        issue_ids = {acme.issue(f"job {i}", assignedTeamId=team["id"])["id"] for i in range(500)}
        claimed: list[tuple[str, str]] = []
        started = time.monotonic()
        threads = [
            threading.Thread(target=_work, args=(acme, a["id"], tok, claimed, 500))
            for a, tok in zip(agents, tokens, strict=True)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join(300)
        elapsed = time.monotonic() - started
        print(f"\n50 agents: {len(claimed)} claims + completes in {elapsed:.1f}s")

    times_claimed = Counter(issue for issue, _ in claimed)
    assert set(times_claimed) == issue_ids
    assert set(times_claimed.values()) == {1}
    with engine.connect() as conn:
        leases = conn.execute(
            sa.select(t.leases.c.issue_id, t.leases.c.released_at).where(
                t.leases.c.issue_id.in_(issue_ids)
            )
        ).all()
        statuses = Counter(
            conn.execute(sa.select(t.issues.c.status).where(t.issues.c.id.in_(issue_ids))).scalars()
        )
    assert len(leases) == 500 and len({issue for issue, _ in leases}) == 500
    assert all(released is not None for _, released in leases)
    assert statuses == {"review": 500}
    assert len({agent for _, agent in claimed}) > 1  # the work was spread


def _claim(http: httpx.Client, agent_id: str, **body: Any) -> httpx.Response:
    return http.post(f"/agents/{agent_id}/claim", json=body)


def test_a_silent_agents_issue_is_requeued_in_time_and_claimed_by_another(
    distributed: Stack,
) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        team = acme.team()
        silent = acme.agent("silent", teamIds=[team["id"]])
        issue = acme.issue("needs a heartbeat", assignedTeamId=team["id"])
        assert issue["assignedAgentId"] == silent["id"]
        other = acme.agent("other", teamIds=[team["id"]])
        dead = _agent_client(acme, acme.agent_token(silent["id"]))
        alive = _agent_client(acme, acme.agent_token(other["id"]))
        with dead, alive:
            claimed = _claim(dead, silent["id"], leaseSeconds=MIN_LEASE_S).json()
            granted = time.monotonic()
            # The silent agent never checkpoints; the other one long-polls for work.
            taken = _claim(alive, other["id"], waitSeconds=30)
            waited = time.monotonic() - granted
            assert taken.status_code == 200, taken.text
            body = taken.json()
            assert body["issue"]["id"] == issue["id"]
            assert body["run"]["attempt"] == 2
            print(f"\nrequeued and claimed {waited:.2f}s after a {MIN_LEASE_S}s lease")
            assert waited <= MIN_LEASE_S + SWEEP_INTERVAL_S + 1, waited

            stale = dead.post(
                f"/issues/{issue['id']}/runs/{claimed['run']['id']}/checkpoint",
                json={"leaseToken": claimed["lease"]["token"]},
            )
            assert stale.status_code == 409
            assert stale.json()["code"] == "stale_lease"
            assert stale.json()["stop"] is True
            assert stale.json()["stopReason"] == "lease_expired"
        first = acme.ok("GET", f"/issues/{issue['id']}/runs/{claimed['run']['id']}")
        assert first["exitReason"] == "lease_expired"
        assert first["leaseHistory"][0]["releaseReason"] == "lease_expired"


def test_two_schedulers_apply_each_expiry_exactly_once(distributed: Stack, engine: Engine) -> None:
    second = distributed.start_scheduler("scheduler-2")
    try:
        with Api(distributed.base_url, distributed.admin_token) as api:
            acme = api.new_company()
            agents = [acme.agent(f"a{i}", capacity=5) for i in range(4)]
            issues = []
            for i, agent in enumerate(agents * 5):
                issues.append(acme.issue(f"expiring {i}", assignedAgentId=agent["id"])["id"])
            for agent in agents:
                with _agent_client(acme, acme.agent_token(agent["id"])) as http:
                    for _ in range(5):
                        assert (
                            _claim(http, agent["id"], leaseSeconds=MIN_LEASE_S).status_code == 200
                        )
            deadline = time.monotonic() + MIN_LEASE_S + 10
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    running = conn.execute(
                        sa.select(sa.func.count()).where(
                            t.issues.c.id.in_(issues), t.issues.c.status == "running"
                        )
                    ).scalar_one()
                if running == 0:
                    break
                time.sleep(0.2)
            time.sleep(3 * SWEEP_INTERVAL_S)  # both schedulers get several more ticks
    finally:
        second.stop()
    with engine.connect() as conn:
        expiries = Counter(
            conn.execute(
                sa.select(t.activity.c.issue_id).where(
                    t.activity.c.issue_id.in_(issues),
                    t.activity.c.actor == "system:sweeper",
                )
            ).scalars()
        )
        runs = Counter(
            conn.execute(
                sa.select(t.runs.c.exit_reason).where(t.runs.c.issue_id.in_(issues))
            ).scalars()
        )
    assert set(expiries) == set(issues)
    assert set(expiries.values()) == {1}
    assert runs == {"lease_expired": 20}
