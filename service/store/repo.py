"""Reads and writes of issues and agent load, shared by command handlers and reads."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.model import AgentLoad, AgentStatus, Issue, RetryPolicy
from domain.money import from_micros, to_micros
from domain.priorities import from_rank, rank
from domain.statuses import LOAD_STATUSES, RUN_STATUSES, IssueStatus
from service.store import tables as t

__all__ = [
    "ConcurrentUpdate",
    "agent_load",
    "agent_loads",
    "blocked_by",
    "claimable",
    "claimer",
    "due",
    "insert_issue",
    "issue_from_row",
    "issues_from_rows",
    "load_issue",
    "load_of",
    "lock_issues",
    "not_blocked",
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
        priority=from_rank(row.priority),
        not_before=row.not_before,
        retry_policy=_policy(row.retry_base_s, row.retry_max_s),
        budget_include_subtasks=bool(row.budget_include_subtasks),
    )


def _policy(base_s: int | None, max_s: int | None) -> RetryPolicy | None:
    return None if base_s is None or max_s is None else RetryPolicy(base_s, max_s)


#: The columns of ``issues``, in the table's order (what ``select(t.issues)`` returns).
_ISSUE_COLUMNS = tuple(column.name for column in t.issues.c)


def issues_from_rows(rows: Sequence[Any]) -> list[Issue]:
    """``issue_from_row`` of each row, by position when the rows are ``select(t.issues)``'s
    (reading 20 columns of a row by name costs more than building the issue)."""
    if not rows or tuple(rows[0]._fields) != _ISSUE_COLUMNS:
        return [issue_from_row(row) for row in rows]
    return [_issue_of(*row) for row in rows]


def _issue_of(  # one parameter per column of ``issues``, in the table's order
    id: str,
    company_id: str,
    title: str,
    description: str | None,
    status: str,
    parent_id: str | None,
    assigned_agent_id: str | None,
    assigned_team_id: str | None,
    budget_micros: int | None,
    spent_micros: int,
    due_at: datetime | None,
    labels: list[str],
    dependencies: list[str],
    current_run_id: str | None,
    created_at: datetime,
    updated_at: datetime,
    version: int,
    attempts: int,
    max_attempts: int,
    priority: int,
    lease_fence: int,
    not_before: datetime | None,
    retry_base_s: int | None,
    retry_max_s: int | None,
    budget_include_subtasks: bool,
) -> Issue:
    return Issue(
        id=id,
        company_id=company_id,
        title=title,
        description=description,
        status=IssueStatus(status),
        parent_id=parent_id,
        assigned_agent_id=assigned_agent_id,
        assigned_team_id=assigned_team_id,
        budget_per_task_usd=None if budget_micros is None else from_micros(budget_micros),
        spent_usd=from_micros(spent_micros),
        due_at=due_at,
        labels=tuple(labels),
        dependencies=tuple(dependencies),
        current_run_id=current_run_id,
        created_at=created_at,
        updated_at=updated_at,
        version=version,
        attempts=attempts,
        max_attempts=max_attempts,
        lease_fence=lease_fence,
        priority=from_rank(priority),
        not_before=not_before,
        retry_policy=_policy(retry_base_s, retry_max_s),
        budget_include_subtasks=bool(budget_include_subtasks),
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
        "priority": rank(issue.priority),
        "not_before": issue.not_before,
        "retry_base_s": None if issue.retry_policy is None else issue.retry_policy.base_seconds,
        "retry_max_s": None if issue.retry_policy is None else issue.retry_policy.max_seconds,
        "budget_include_subtasks": issue.budget_include_subtasks,
    }


# The hot statements, built once with bind parameters: building one per call (the 19
# columns of an issue's ``.values()`` alone, ~150 µs) and computing its cache key (~180 µs)
# cost more CPU than the database spends running it. A prebuilt statement's cache key is
# memoized, so each call only binds its values. An INSERT or UPDATE given no ``.values()``
# takes its columns from the parameters it is executed with.
_ISSUE_WHERE = (
    t.issues.c.id == sa.bindparam("b_id"),
    t.issues.c.company_id == sa.bindparam("b_cid"),
)
_LOAD_ISSUE = sa.select(t.issues).where(*_ISSUE_WHERE)
_LOCK_ISSUE = _LOAD_ISSUE.with_for_update()
_INSERT_ISSUE = t.issues.insert()
_UPDATE_ISSUE = t.issues.update().where(
    t.issues.c.id == sa.bindparam("b_id"), t.issues.c.version == sa.bindparam("b_version")
)
_INSERT_LABELS = t.issue_labels.insert()
_DELETE_LABELS = t.issue_labels.delete().where(t.issue_labels.c.issue_id == sa.bindparam("b_id"))
_INSERT_DEPENDENCIES = t.issue_dependencies.insert()


def load_issue(
    conn: Connection, company_id: str, issue_id: str, *, for_update: bool = False
) -> Issue | None:
    """The company's issue (None if there is none); ``for_update`` takes its row lock."""
    query = _LOCK_ISSUE if for_update else _LOAD_ISSUE
    row = conn.execute(query, {"b_id": issue_id, "b_cid": company_id}).first()
    return None if row is None else issues_from_rows([row])[0]


_LOCK_ISSUES = (
    sa.select(t.issues)
    .where(
        t.issues.c.id.in_(sa.bindparam("b_ids", expanding=True)),
        t.issues.c.company_id == sa.bindparam("b_cid"),
    )
    .order_by(t.issues.c.id)
    .with_for_update()
)


def lock_issues(conn: Connection, company_id: str, ids: Iterable[str]) -> list[Issue]:
    """The company's issues among ``ids``, their rows locked by one statement in id order (two
    transactions locking overlapping sets then never wait on each other in a cycle); an id
    that is not the company's issue is left out."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = conn.execute(_LOCK_ISSUES, {"b_ids": wanted, "b_cid": company_id}).all()
    return issues_from_rows(rows)


def insert_issue(conn: Connection, issue: Issue) -> None:
    values = _issue_values(issue)
    values.update(id=issue.id, company_id=issue.company_id, created_at=issue.created_at)
    conn.execute(_INSERT_ISSUE, values)
    if issue.labels:
        conn.execute(
            _INSERT_LABELS,
            [{"issue_id": issue.id, "label": label} for label in set(issue.labels)],
        )
    if issue.dependencies:
        conn.execute(
            _INSERT_DEPENDENCIES,
            [{"issue_id": issue.id, "depends_on_id": d} for d in set(issue.dependencies)],
        )


def save_issue(conn: Connection, before: Issue, after: Issue) -> None:
    """Write ``after`` if the row is still at ``before.version`` (else ``ConcurrentUpdate``)."""
    if after == before:
        return
    values = _issue_values(after)
    values.update(b_id=before.id, b_version=before.version)
    result = conn.execute(_UPDATE_ISSUE, values)
    if result.rowcount != 1:
        raise ConcurrentUpdate(before.id)
    if after.labels != before.labels:
        conn.execute(_DELETE_LABELS, {"b_id": before.id})
        if after.labels:
            conn.execute(
                _INSERT_LABELS,
                [{"issue_id": before.id, "label": label} for label in set(after.labels)],
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


_BLOCKED_BY = (
    sa.select(t.issue_dependencies.c.issue_id, t.issue_dependencies.c.depends_on_id)
    .join(t.issues, t.issues.c.id == t.issue_dependencies.c.depends_on_id)
    .where(
        t.issue_dependencies.c.issue_id.in_(sa.bindparam("b_ids", expanding=True)),
        t.issues.c.status != IssueStatus.DONE.value,
    )
)


def blocked_by(conn: Connection, issue_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each issue, its dependencies that are not ``done`` yet."""
    ids = list(set(issue_ids))
    if not ids:
        return {}
    rows = conn.execute(_BLOCKED_BY, {"b_ids": ids}).all()
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


def due(now: datetime | sa.BindParameter[Any] | sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The issue may be taken at ``now``: no ``not_before`` still to come (a retry's backoff,
    a later start). Every query that picks work (claims, dispatch) has it."""
    c = t.issues.c
    return c.not_before.is_(None) | (c.not_before <= now)


def claimable(
    company_id: str | sa.BindParameter[Any],
    agent_id: str | sa.BindParameter[Any],
    now: datetime | sa.BindParameter[Any],
) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What an agent may claim at ``now``, as SQL: (its own ``assigned`` issues, its teams'
    unassigned ``queued`` issues), neither of them blocked nor waiting for their
    ``not_before``. Given bind parameters, the clauses can be part of a statement built once."""
    c = t.issues.c
    teams = sa.select(t.agent_teams.c.team_id).where(t.agent_teams.c.agent_id == agent_id)
    mine = sa.and_(
        c.assigned_agent_id == agent_id,
        c.status == IssueStatus.ASSIGNED.value,
        due(now),
        not_blocked(),
    )
    team_queue = sa.and_(
        c.company_id == company_id,
        c.status == IssueStatus.QUEUED.value,
        c.assigned_agent_id.is_(None),
        c.assigned_team_id.in_(teams),
        due(now),
        not_blocked(),
    )
    return mine, team_queue
