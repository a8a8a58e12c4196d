"""Claims: 50 agents taking 10,000 issues, each from a queue of its own and all from one
team's queue, with no issue ever claimed twice."""

from __future__ import annotations

import asyncio
import math
import time

import sqlalchemy as sa

from tests.benchmarks.loadgen import Client, CpuMeter
from tests.benchmarks.seed import seed_agents, seed_issues, seed_team
from tests.benchmarks.stack import Bench, Figures, scaled

AGENTS = 50
#: How long an agent answered 204 waits before it asks again, in seconds.
IDLE_S = 0.05
#: The longest a section may take to claim everything before it fails, in seconds.
GIVE_UP_S = 600


def claims(bench: Bench, cpu: CpuMeter) -> Figures:
    """Per-agent queues: every issue is assigned to one of the agents."""
    cid, token = bench.new_company()
    total = scaled(10_000, AGENTS)
    agent_ids = seed_agents(bench.engine, cid, AGENTS, capacity=math.ceil(total / AGENTS) + 1)
    tokens = _agent_tokens(bench, cid, token, agent_ids)
    seed_issues(
        bench.engine, cid, total, tag=f"cl{cid[-6:]}", status="assigned", agent_ids=agent_ids
    )
    rate, double, late = _claim_everything(bench, cpu, cid, tokens, total, shared_queue=False)
    return {"claims_per_s": rate, "double_claims": double, "claims_answered_202": late}


def team_claims(bench: Bench, cpu: CpuMeter) -> Figures:
    """One team queue: every issue is queued for the team all the agents are in, so every
    claim races the others for the same head of the queue (and the dispatcher assigns some)."""
    cid, token = bench.new_company()
    total = scaled(10_000, AGENTS)
    agent_ids = seed_agents(bench.engine, cid, AGENTS, capacity=total + 1)
    team = seed_team(bench.engine, cid, agent_ids)
    # Before the issues: the dispatcher's assignments of a 10,000-issue team queue fill every
    # shard, and a token created behind them outlasts the API's wait (a 202 shows no token).
    tokens = _agent_tokens(bench, cid, token, agent_ids)
    seed_issues(bench.engine, cid, total, tag=f"tq{cid[-6:]}", team_id=team)
    rate, double, late = _claim_everything(bench, cpu, cid, tokens, total, shared_queue=True)
    return {
        "claims_per_s_team_queue": rate,
        "double_claims_team_queue": double,
        "claims_answered_202_team_queue": late,
    }


def _agent_tokens(bench: Bench, cid: str, token: str, agent_ids: list[str]) -> dict[str, str]:
    """A token of each agent, by agent id."""
    admin = {"Authorization": f"Bearer {token}"}
    tokens: dict[str, str] = {}
    for agent_id in agent_ids:
        r = bench.http.post(
            f"/v1/companies/{cid}/tokens",
            json={"role": "agent", "agentId": agent_id},
            headers=admin,
        )
        assert r.status_code == 201, f"token of {agent_id}: {r.status_code} {r.text}"
        tokens[agent_id] = r.json()["token"]
    return tokens


def _claim_everything(
    bench: Bench,
    cpu: CpuMeter,
    cid: str,
    tokens: dict[str, str],
    total: int,
    *,
    shared_queue: bool,
) -> tuple[float, int, int]:
    """Every agent claims until there is nothing left: (claims per second, double claims,
    claims answered 202)."""
    claimed: list[str] = []
    followed: list[int] = []  # per agent, its claims answered 202 (and followed)
    deadline = time.monotonic() + GIVE_UP_S

    async def agent(agent_id: str, agent_token: str) -> None:
        client = Client(bench.stack.base_url, agent_token)
        path = f"/v1/companies/{cid}/agents/{agent_id}/claim"
        try:
            # On a shared queue a 204 may only mean the rest is locked by other claims this
            # moment (or was just assigned by the dispatcher to an agent that stopped).
            while len(claimed) < total:
                assert time.monotonic() < deadline, f"{len(claimed)} of {total} claimed"
                # Leases outlast the run: expiries would queue behind the claims otherwise.
                r = await client.outcome("POST", path, {"leaseSeconds": 3600})
                if r.status == 204 and not shared_queue:
                    return  # its own queue is empty: nothing else can become its
                if r.status == 204:
                    await asyncio.sleep(IDLE_S)
                    continue
                assert r.status == 200, r.body
                claimed.append(r.json()["issue"]["id"])
        finally:
            followed.append(client.followed)
            await client.close()

    async def all_agents() -> None:
        await asyncio.gather(*(agent(a, t) for a, t in tokens.items()))

    cpu.start()
    started = time.perf_counter()
    asyncio.run(all_agents())
    elapsed = time.perf_counter() - started
    cpu.stop()
    with bench.engine.connect() as conn:
        leased_twice = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT issue_id FROM leases l "
                "JOIN issues i ON i.id = l.issue_id WHERE i.company_id = :cid "
                "GROUP BY issue_id HAVING count(*) > 1) twice"
            ),
            {"cid": cid},
        ).scalar_one()
    double = leased_twice + (len(claimed) - len(set(claimed)))
    assert len(set(claimed)) == total, f"{len(set(claimed))} of {total} claimed"
    return len(claimed) / elapsed, double, sum(followed)
