"""The claim pre-check: whether a claim command would do anything but answer 204."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.budgets import month_of
from domain.errors import DomainError
from domain.runs import check_can_claim
from service.clock import utc_now
from service.store import repo
from service.store import tables as t
from service.store.budgets import exhausted_clause
from service.store.types import UTCDateTime

__all__ = ["worth_claiming"]


@functools.cache
def _statement() -> sa.Select[Any]:
    """The agent, what it holds, and whether it has claimable work: built once, bound per
    call (``service.store.repo`` says why)."""
    a, c = t.agents.c, t.issues.c
    agent: sa.BindParameter[str] = sa.bindparam("b_agent")
    company: sa.BindParameter[str] = sa.bindparam("b_cid")
    now: sa.BindParameter[datetime] = sa.bindparam("b_now", type_=UTCDateTime())
    mine, team_queue = repo.claimable(company, agent, now)
    return repo.agent_load(a.id == agent, a.company_id == company).add_columns(
        sa.exists(sa.select(c.id).where(mine | team_queue)).label("work"),
        exhausted_clause(agent, company, sa.bindparam("b_month")).label("exhausted"),
    )


def worth_claiming(
    conn: Connection, company_id: str, agent_id: str, now: datetime | None = None
) -> bool:
    """Would a claim command do anything but answer 204? (Saves a command per idle poll.)

    True when there is claimable work, and also whenever the claim would be refused (no
    such agent, paused, at capacity, a monthly budget spent): the command path gives those
    their proper error. One round trip: it runs before every claim. ``now``: when the work
    must be due, and whose month's budgets count (the clock by default)."""
    when = now or utc_now()
    params = {"b_agent": agent_id, "b_cid": company_id, "b_now": when, "b_month": month_of(when)}
    row = conn.execute(_statement(), params).first()
    if row is None:
        return True
    try:
        check_can_claim(repo.load_of(row), row.running)
    except DomainError:
        return True
    return bool(row.work or row.exhausted)
