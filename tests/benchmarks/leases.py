"""Lease-expiry lag: how long after its TTL a silent agent's lease is expired, with 100,000
other leases live."""

from __future__ import annotations

import statistics
import time

import sqlalchemy as sa

from tests.benchmarks.seed import seed_agents, seed_live_leases
from tests.benchmarks.stack import LEASE_TTL_S, Bench, Figures, scaled
from tests.procs import SWEEP_INTERVAL_S


def lease_expiry(bench: Bench) -> Figures:
    cid, token = bench.new_company()
    holder = seed_agents(bench.engine, cid, 1, capacity=1)[0]
    seed_live_leases(bench.engine, cid, holder, scaled(100_000, 100))
    admin = {"Authorization": f"Bearer {token}"}
    samples = scaled(20, 3)
    granted: dict[str, float] = {}
    for i in range(samples):
        aid = bench.http.post(
            f"/v1/companies/{cid}/agents", json={"name": f"silent{i}"}, headers=admin
        ).json()["id"]
        agent_token = bench.http.post(
            f"/v1/companies/{cid}/tokens", json={"role": "agent", "agentId": aid}, headers=admin
        ).json()["token"]
        bench.http.post(
            f"/v1/companies/{cid}/issues",
            json={"title": "expire me", "assignedAgentId": aid},
            headers=admin,
        )
        r = bench.http.post(
            f"/v1/companies/{cid}/agents/{aid}/claim",
            json={"leaseSeconds": LEASE_TTL_S},
            headers={"Authorization": f"Bearer {agent_token}"},
        )
        assert r.status_code == 200, r.text
        granted[r.json()["run"]["id"]] = time.time()
    deadline = time.monotonic() + LEASE_TTL_S + SWEEP_INTERVAL_S + 30
    lags: list[float] = []
    while time.monotonic() < deadline:
        with bench.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT r.id, extract(epoch FROM r.ended_at - l.granted_at) AS lag "
                    "FROM runs r JOIN leases l ON l.run_id = r.id "
                    "WHERE r.id = ANY(:ids) AND r.exit_reason = 'lease_expired'"
                ),
                {"ids": list(granted)},
            ).all()
        if len(rows) == samples:
            lags = [float(r.lag) for r in rows]
            break
        time.sleep(0.2)
    assert lags, "the sample leases were not all expired in time"
    return {
        "lease_expiry_lag_s": max(lags),
        "lease_expiry_lag_s_p50": statistics.median(lags),
        "lease_ttl_plus_interval_s": LEASE_TTL_S + SWEEP_INTERVAL_S,
        "live_leases": scaled(100_000, 100),
    }
