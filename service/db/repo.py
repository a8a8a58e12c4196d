"""Reads and writes of domain values, shared by command handlers and queries."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.events import IssueEvent
from domain.model import AgentLoad, AgentStatus, Issue
from domain.money import from_micros, to_micros
from domain.runs import priority_of
from domain.statuses import LOAD_STATUSES, RUN_STATUSES, IssueStatus
from service.db import tables as t
from service.kinds import ACTIVITY

__all__ = [
    "ConcurrentUpdate",
    "agent_load",
    "agent_loads",
    "blocked_by",
    "claimable",
    "claimer",
    "insert_issue",
    "issue_from_row",
    "load_issue",
    "load_of",
    "not_blocked",
    "record_events",
    "save_issue",
]


class ConcurrentUpdate(Exception):
    """The row's ``version`` moved under us: the whole command is retried."""


def issue_from_row(row: Any) -> Issue:
    budget = row.budget_micros
    return Issue(
        id=row.id,
        company_id=row.company_id,
        title=row.title,
        description=row.description,
        status=IssueStatus(row.status),
        parent_id=row.parent_id,
        assigned_agent_id=row.assigned_agent_id,
        assigned_team_id=row.assigned_team_id,
        budget_per_task_usd=None if budget is None else from_micros(budget),
        spent_usd=from_micros(row.spent_micros),
        due_at=row.due_at,
        labels=tuple(row.labels),
        dependencies=tuple(row.dependencies),
        current_run_id=row.current_run_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        lease_fence=row.lease_fence,
    )


def _issue_values(issue: Issue) -> dict[str, Any]:
    return {
        "title": issue.title,
        "description": issue.description,
        "status": issue.status.value,
        "parent_id": issue.parent_id,
        "assigned_agent_id": issue.assigned_agent_id,
        "assigned_team_id": issue.assigned_team_id,
        "budget_micros": (
            None if issue.budget_per_task_usd is None else to_micros(issue.budget_per_task_usd)
        ),
        "spent_micros": to_micros(issue.spent_usd),
        "due_at": issue.due_at,
        "labels": list(issue.labels),
        "dependencies": list(issue.dependencies),
        "current_run_id": issue.current_run_id,
        "updated_at": issue.updated_at,
        "version": issue.version,
        "attempts": issue.attempts,
        "max_attempts": issue.max_attempts,
        "lease_fence": issue.lease_fence,
        "priority": priority_of(issue.labels),
    }


def load_issue(
    conn: Connection, company_id: str, issue_id: str, *, for_update: bool = False
) -> Issue | None:
    query = sa.select(t.issues).where(
        t.issues.c.id == issue_id, t.issues.c.company_id == company_id
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else issue_from_row(row)


def insert_issue(conn: Connection, issue: Issue) -> None:
    conn.execute(
        t.issues.insert().values(
            id=issue.id,
            company_id=issue.company_id,
            created_at=issue.created_at,
            **_issue_values(issue),
        )
    )
    if issue.labels:
        conn.execute(
            t.issue_labels.insert(),
            [{"issue_id": issue.id, "label": label} for label in set(issue.labels)],
        )
    if issue.dependencies:
        conn.execute(
            t.issue_dependencies.insert(),
            [{"issue_id": issue.id, "depends_on_id": d} for d in set(issue.dependencies)],
        )


def save_issue(conn: Connection, before: Issue, after: Issue) -> None:
    """Write ``after`` if the row is still at ``before.version`` (else ``ConcurrentUpdate``)."""
    if after == before:
        return
    result = conn.execute(
        t.issues.update()
        .where(t.issues.c.id == before.id, t.issues.c.version == before.version)
        .values(**_issue_values(after))
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate(before.id)
    if after.labels != before.labels:
        conn.execute(t.issue_labels.delete().where(t.issue_labels.c.issue_id == before.id))
        if after.labels:
            conn.execute(
                t.issue_labels.insert(),
                [{"issue_id": before.id, "label": label} for label in set(after.labels)],
            )


def record_events(
    conn: Connection,
    company_id: str,
    events: Sequence[IssueEvent],
    *,
    at: datetime,
    command_id: str | None,
) -> None:
    """One activity entry per event, in the command's transaction."""
    if not events:
        return
    conn.execute(
        t.activity.insert(),
        [
            {
                "id": ACTIVITY.new_id(),
                "company_id": company_id,
                "issue_id": e.issue_id,
                "at": at,
                "type": e.type,
                "from_status": None if e.from_status is None else e.from_status.value,
                "to_status": e.to_status.value,
                "actor": e.actor,
                "reason": e.reason,
                "version": e.version,
                "command_id": command_id,
            }
            for e in events
        ],
    )


def _issues_held(statuses: Collection[IssueStatus]) -> sa.ScalarSelect[int]:
    """How many of the outer query's agent's issues are in ``statuses``: a scalar subquery."""
    c = t.issues.c
    return (
        sa.select(sa.func.count())
        .where(c.assigned_agent_id == t.agents.c.id, c.status.in_(sorted(statuses)))
        .scalar_subquery()
    )


def agent_load(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """The agents ``where`` picks, each with what it holds, as one query (the only one that
    counts an agent's issues): ``id``, ``status``, ``capacity``, ``idle_since``, ``load`` (its
    issues in ``LOAD_STATUSES``, which the dispatcher weighs) and ``running`` (in
    ``RUN_STATUSES``, which its ``capacity`` caps). ``load_of`` makes a row an ``AgentLoad``."""
    a = t.agents.c
    return sa.select(
        a.id,
        a.status,
        a.capacity,
        a.idle_since,
        _issues_held(LOAD_STATUSES).label("load"),
        _issues_held(RUN_STATUSES).label("running"),
    ).where(*where)


def load_of(row: Any) -> AgentLoad:
    """An ``agent_load`` row as the rules see it."""
    return AgentLoad(row.id, AgentStatus(row.status), row.capacity, row.load, row.idle_since)


def agent_loads(
    conn: Connection, agent_ids: Iterable[str], *, for_update: bool = False
) -> list[AgentLoad]:
    """The dispatcher's view of these agents. ``for_update`` locks their rows (in id order)
    so two dispatches to one agent are serialized and capacity is never overshot; their
    loads are then read after the locks are held, by a statement of their own (one that
    waited for a lock would count what it saw before it waited)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return []
    a = t.agents.c
    if for_update:
        conn.execute(sa.select(a.id).where(a.id.in_(ids)).order_by(a.id).with_for_update())
    rows = conn.execute(agent_load(a.id.in_(ids)).order_by(a.id)).all()
    return [load_of(r) for r in rows]


def claimer(conn: Connection, company_id: str, agent_id: str) -> tuple[AgentLoad, int] | None:
    """The claiming agent, its row locked, and how many issues it runs: one round trip.

    The lock keeps the agent's dispatches from overshooting while it claims."""
    a = t.agents.c
    row = conn.execute(
        agent_load(a.id == agent_id, a.company_id == company_id).with_for_update(of=t.agents)
    ).first()
    if row is None:
        return None
    return load_of(row), int(row.running)


def team_agent_ids(conn: Connection, team_id: str) -> list[str]:
    return list(
        conn.execute(
            sa.select(t.agent_teams.c.agent_id).where(t.agent_teams.c.team_id == team_id)
        ).scalars()
    )


def blocked_by(conn: Connection, issue_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each issue, its dependencies that are not ``done`` yet."""
    ids = list(set(issue_ids))
    if not ids:
        return {}
    dep = t.issue_dependencies
    rows = conn.execute(
        sa.select(dep.c.issue_id, dep.c.depends_on_id)
        .join(t.issues, t.issues.c.id == dep.c.depends_on_id)
        .where(dep.c.issue_id.in_(ids), t.issues.c.status != IssueStatus.DONE.value)
    ).all()
    result: dict[str, list[str]] = {}
    for issue_id, depends_on in rows:
        result.setdefault(issue_id, []).append(depends_on)
    return result


@functools.cache
def not_blocked() -> sa.ColumnElement[bool]:
    """No dependency of the issue is short of ``done``. Built once: an alias of ``issues``
    costs more to construct than the query costs to run."""
    dep = t.issue_dependencies
    upstream = t.issues.alias("upstream")
    return ~sa.exists(
        sa.select(dep.c.depends_on_id)
        .join(upstream, upstream.c.id == dep.c.depends_on_id)
        .where(dep.c.issue_id == t.issues.c.id, upstream.c.status != IssueStatus.DONE.value)
    )


def claimable(
    company_id: str, agent_id: str
) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What an agent may claim, as SQL: (its own ``assigned`` issues, its teams' unassigned
    ``queued`` issues), neither of them blocked."""
    c = t.issues.c
    teams = sa.select(t.agent_teams.c.team_id).where(t.agent_teams.c.agent_id == agent_id)
    mine = sa.and_(
        c.assigned_agent_id == agent_id, c.status == IssueStatus.ASSIGNED.value, not_blocked()
    )
    team_queue = sa.and_(
        c.company_id == company_id,
        c.status == IssueStatus.QUEUED.value,
        c.assigned_agent_id.is_(None),
        c.assigned_team_id.in_(teams),
        not_blocked(),
    )
    return mine, team_queue
