"""The claim's reads: the claiming agent (locked) with its load, and the issue it takes next.

On PostgreSQL they are one statement (``claim_next``): a materialized CTE locks the agent's
row and counts what it holds, a second locks its first own ``assigned`` issue, a third its
teams' first ``queued`` one if it has none (``FOR UPDATE SKIP LOCKED``: claims never queue
behind each other). Whether the agent may claim at all stays the rules' to say
(``domain.runs.check_can_claim``), from the counts the statement read. On SQLite (one writer,
no row locks, no round trips to save) the same reads are statements of their own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import AgentLoad, AgentStatus
from service.store import repo
from service.store import tables as t
from service.store.types import UTCDateTime

__all__ = ["Claimer", "claim_next", "first_claimable", "own_claimable_exists"]

#: The statements' bind parameters: the agent, its company, and the claim's ``now``.
AGENT, COMPANY, NOW = "b_agent", "b_cid", "b_now"


@dataclass(frozen=True, slots=True)
class Claimer:
    """The claiming agent (its row locked), how many issues it runs, and what it found:
    the issue row it locked (None: nothing unlocked), and whether it has own ``assigned``
    issues that other transactions hold (then worth waiting a moment for)."""

    agent: AgentLoad
    running: int
    issue: Any
    own_held: bool


def _claimable() -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    return repo.claimable(
        sa.bindparam(COMPANY), sa.bindparam(AGENT), sa.bindparam(NOW, type_=UTCDateTime())
    )


def _claim_order(query: sa.Select[Any]) -> sa.Select[Any]:
    c = t.issues.c
    return (
        query.order_by(c.priority.desc(), c.created_at, c.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=t.issues)
    )


@functools.cache
def _statements() -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
    """(own, team, own exists) for the step-by-step path, built once."""
    mine, team_queue = _claimable()
    return (
        _claim_order(sa.select(t.issues).where(mine)),
        _claim_order(sa.select(t.issues).where(team_queue)),
        sa.select(sa.exists().where(mine)),
    )


def first_claimable(conn: Connection, company_id: str, agent_id: str, now: datetime) -> Any:
    """Lock and return the agent's next unlocked issue row due at ``now``: its own first,
    then its teams'."""
    own, team, _ = _statements()
    params = {AGENT: agent_id, COMPANY: company_id, NOW: now}
    for query in (own, team):
        row = conn.execute(query, params).first()
        if row is not None:
            return row
    return None


def own_claimable_exists(conn: Connection, company_id: str, agent_id: str, now: datetime) -> bool:
    """Whether the agent has own claimable issues at ``now``, locked or not."""
    params = {AGENT: agent_id, COMPANY: company_id, NOW: now}
    return bool(conn.execute(_statements()[2], params).scalar())


@functools.cache
def _one_statement() -> sa.Select[Any]:
    """The PostgreSQL claim, built once (``claim_next``)."""
    a = t.agents.c
    mine, team_queue = _claimable()
    claimer = (
        repo.agent_load(a.id == sa.bindparam(AGENT), a.company_id == sa.bindparam(COMPANY))
        .with_for_update(of=t.agents)
        .cte("claimer")
        .prefix_with("MATERIALIZED")
    )
    # Each pick names the claimer, so its lock is taken first and no issue is locked for an
    # agent that is not there; the team's is looked at only when the agent has none of its own.
    agent_found = sa.exists(sa.select(claimer.c.id))
    own = _claim_order(sa.select(t.issues).where(mine, agent_found)).cte("own")
    own = own.prefix_with("MATERIALIZED")
    no_own = ~sa.exists(sa.select(own.c.id))
    team = _claim_order(sa.select(t.issues).where(team_queue, agent_found, no_own)).cte("team")
    team = team.prefix_with("MATERIALIZED")
    picked = sa.union_all(sa.select(own), sa.select(team)).subquery("picked")
    own_held = sa.case((picked.c.id.is_(None), sa.exists().where(mine)), else_=sa.false())
    return sa.select(
        *(column.label(f"agent_{column.name}") for column in claimer.c),
        own_held.label("agent_own_held"),
        *picked.c,
    ).select_from(claimer.outerjoin(picked, sa.true()))


def claim_next(conn: Connection, company_id: str, agent_id: str, now: datetime) -> Claimer | None:
    """The claiming agent, locked, with its counts and the next issue it may take at
    ``now``, locked (``Claimer``); None if the company has no such agent."""
    params = {AGENT: agent_id, COMPANY: company_id, NOW: now}
    if conn.dialect.name != "postgresql":
        found = repo.claimer(conn, company_id, agent_id)
        if found is None:
            return None
        issue = first_claimable(conn, company_id, agent_id, now)
        own_held = issue is None and own_claimable_exists(conn, company_id, agent_id, now)
        return Claimer(found[0], found[1], issue, own_held)
    row = conn.execute(_one_statement(), params).first()
    if row is None:
        return None
    agent = AgentLoad(
        row.agent_id,
        AgentStatus(row.agent_status),
        row.agent_capacity,
        row.agent_load,
        row.agent_idle_since,
    )
    issue = row if row.id is not None else None
    return Claimer(agent, int(row.agent_running), issue, bool(row.agent_own_held))
