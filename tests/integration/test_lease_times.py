"""Lease times follow the order in which leases were really granted and released, even when a
command read the clock before a concurrent command on another shard committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.envelope import Envelope, Outcome
from service.commands.pipeline import Applier
from service.ids import new_id
from service.store import tables as t


class _Clock:
    """A clock the test sets: each command's reading is whatever ``at`` holds then."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_a_claim_that_read_the_clock_before_the_previous_lease_was_released_is_granted_after_it(
    engine: Engine,
) -> None:
    # Leases far in the past: PostgreSQL's clock, which decides expiry, sees them as expired.
    start = datetime.now(UTC) - timedelta(hours=2)
    clock = _Clock(start)
    applier = Applier(engine, lambda _reply_to, _outcome: None, clock=clock)
    company = new_id("cmp")

    def apply(command: object) -> Outcome:
        outcome = applier.apply(Envelope(new_id("cmd"), company, "user:test", command))
        assert outcome.applied, outcome.body
        return outcome

    apply(c.CreateCompany(company, "Acme"))
    agent, issue = new_id("agt"), new_id("iss")
    apply(c.CreateAgent(agent, "a1"))
    apply(c.CreateIssue(issue, "job", assigned_agent_id=agent))
    first = apply(c.ClaimWork(agent, new_id("run"), lease_seconds=10)).body
    clock.at = start + timedelta(minutes=30)
    apply(c.ExpireLease(issue, first["lease"]["token"]))
    # The second claim's clock reads earlier than the expiry that left the issue claimable:
    # on the distributed stack, the claim (agent's shard) read it before the expiry (issue's
    # shard) committed.
    clock.at = start + timedelta(minutes=10)
    second = apply(c.ClaimWork(agent, new_id("run"), lease_seconds=10)).body
    assert second["issue"]["id"] == issue

    with engine.connect() as conn:
        leases = conn.execute(
            sa.select(t.leases.c.fence, t.leases.c.granted_at, t.leases.c.released_at)
            .where(t.leases.c.issue_id == issue)
            .order_by(t.leases.c.fence)
        ).all()
        activity = conn.execute(
            sa.select(t.activity.c.version, t.activity.c.at)
            .where(t.activity.c.issue_id == issue)
            .order_by(t.activity.c.version)
        ).all()
    assert [lease.fence for lease in leases] == [1, 2]
    assert leases[0].released_at == start + timedelta(minutes=30)
    assert leases[1].granted_at >= leases[0].released_at
    times = [entry.at for entry in activity]
    assert times == sorted(times), "the issue's history runs backward"
