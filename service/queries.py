"""The read side: GETs answer straight from the database, never through the command path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.commands import CommandStatus
from domain.errors import DomainError, NotFound
from domain.model import Issue
from domain.money import from_micros
from domain.runs import Lease, Run, check_can_claim
from domain.statuses import IssueStatus
from service import approvals
from service.answers import runs as answers
from service.answers.common import wire
from service.db import repo
from service.db import runs as runs_db
from service.db import tables as t
from service.envelope import Outcome
from service.pagination import page
from service.views import agent_json, comment_json, company_json, issue_json, team_json

__all__ = [
    "IssueFilters",
    "agent_body",
    "get_command",
    "get_company",
    "get_issue",
    "get_run",
    "get_team",
    "issues_json",
    "list_agents",
    "list_comments",
    "list_issues",
    "list_runs",
    "list_teams",
    "new_run_json",
    "runs_json",
    "stored_outcome",
    "worth_claiming",
]


def get_company(conn: Connection, company_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(t.companies).where(t.companies.c.id == company_id)).first()
    return None if row is None else company_json(row._mapping)


def _team_ids(conn: Connection, agent_ids: Sequence[str]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {a: [] for a in agent_ids}
    if agent_ids:
        for agent_id, team_id in conn.execute(
            sa.select(t.agent_teams.c.agent_id, t.agent_teams.c.team_id).where(
                t.agent_teams.c.agent_id.in_(agent_ids)
            )
        ):
            result[agent_id].append(team_id)
    return result


def _active_runs(conn: Connection, agent_ids: Sequence[str]) -> dict[str, int]:
    if not agent_ids:
        return {}
    rows = conn.execute(repo.agent_load(t.agents.c.id.in_(agent_ids))).all()
    return {row.id: row.running for row in rows}


def _agents_json(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    teams = _team_ids(conn, ids)
    runs = _active_runs(conn, ids)
    return [agent_json(r._mapping, teams[r.id], runs.get(r.id, 0)) for r in rows]


def agent_body(conn: Connection, company_id: str, agent_id: str) -> dict[str, Any]:
    row = conn.execute(
        sa.select(t.agents).where(t.agents.c.id == agent_id, t.agents.c.company_id == company_id)
    ).first()
    if row is None:
        raise NotFound("agent", agent_id)
    return _agents_json(conn, [row])[0]


def list_agents(
    conn: Connection, company_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    query = sa.select(t.agents).where(t.agents.c.company_id == company_id)
    return page(
        conn,
        query,
        t.agents.c.created_at,
        t.agents.c.id,
        cursor=cursor,
        limit=limit,
        render=lambda rows: _agents_json(conn, rows),
    )


def get_team(conn: Connection, company_id: str, team_id: str) -> dict[str, Any]:
    row = conn.execute(
        sa.select(t.teams).where(t.teams.c.id == team_id, t.teams.c.company_id == company_id)
    ).first()
    if row is None:
        raise NotFound("team", team_id)
    return team_json(row._mapping)


def list_teams(conn: Connection, company_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
    query = sa.select(t.teams).where(t.teams.c.company_id == company_id)
    return page(
        conn,
        query,
        t.teams.c.created_at,
        t.teams.c.id,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [team_json(r._mapping) for r in rows],
    )


def issues_json(
    conn: Connection, issues: Sequence[Issue], *, new_run: bool = False
) -> list[dict[str, Any]]:
    """Issues as the API shows them, with what they wait on (dependencies, approvals).
    ``new_run``: their runs have just started, so no approval can be pending yet."""
    blocked = repo.blocked_by(conn, [i.id for i in issues if i.dependencies])
    running = [] if new_run else [i.id for i in issues if i.status is IssueStatus.RUNNING]
    pending = approvals.pending_approvals(conn, running) if running else {}
    return [issue_json(i, blocked.get(i.id, ()), pending.get(i.id, ())) for i in issues]


def get_issue(conn: Connection, company_id: str, issue_id: str) -> dict[str, Any]:
    issue = repo.load_issue(conn, company_id, issue_id)
    if issue is None:
        raise NotFound("issue", issue_id)
    return issues_json(conn, [issue])[0]


@dataclass(frozen=True, slots=True)
class IssueFilters:
    """The list filters of ``GET /issues``; ``parent`` of ``""`` means top-level only."""

    statuses: tuple[str, ...] = ()
    agent: str | None = None
    team: str | None = None
    parent: str | None = None
    label: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_issues(
    conn: Connection, company_id: str, f: IssueFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    c = t.issues.c
    query = sa.select(t.issues).where(c.company_id == company_id)
    if f.statuses:
        query = query.where(c.status.in_(f.statuses))
    if f.agent is not None:
        query = query.where(c.assigned_agent_id == f.agent)
    if f.team is not None:
        query = query.where(c.assigned_team_id == f.team)
    if f.parent == "":
        query = query.where(c.parent_id.is_(None))
    elif f.parent is not None:
        query = query.where(c.parent_id == f.parent)
    if f.label is not None:
        query = query.where(
            sa.exists().where(t.issue_labels.c.issue_id == c.id, t.issue_labels.c.label == f.label)
        )
    if f.since is not None:
        query = query.where(c.created_at >= f.since)
    if f.until is not None:
        query = query.where(c.created_at < f.until)
    return page(
        conn,
        query,
        c.created_at,
        c.id,
        cursor=cursor,
        limit=limit,
        render=lambda rows: issues_json(conn, [repo.issue_from_row(r) for r in rows]),
    )


def _require_issue(conn: Connection, company_id: str, issue_id: str) -> None:
    found = conn.execute(
        sa.select(t.issues.c.id).where(
            t.issues.c.id == issue_id, t.issues.c.company_id == company_id
        )
    ).first()
    if found is None:
        raise NotFound("issue", issue_id)


def list_comments(
    conn: Connection, company_id: str, issue_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    _require_issue(conn, company_id, issue_id)
    query = sa.select(t.comments).where(t.comments.c.issue_id == issue_id)
    return page(
        conn,
        query,
        t.comments.c.created_at,
        t.comments.c.id,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [comment_json(r._mapping) for r in rows],
    )


def _lease(row: Any) -> answers.Lease:
    return answers.Lease(
        token=row.token,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        renewals=row.renewals,
        released_at=row.released_at,
        release_reason=row.release_reason,
    )


def new_run_json(run: Run, lease: Lease) -> dict[str, Any]:
    """A run that has just started, as ``runs_json`` would show it once stored."""
    row = SimpleNamespace(
        id=run.id,
        issue_id=run.issue_id,
        agent_id=run.agent_id,
        attempt=run.attempt,
        status=run.status.value,
        started_at=run.started_at,
        ended_at=None,
        final_checkpoint=None,
        cost_micros=0,
        input_tokens=0,
        output_tokens=0,
        exit_reason=None,
        exit_details=None,
        workspace_url=run.workspace_url,
    )
    return _runs_json([row], {run.id: [lease]})[0]


def runs_json(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Runs as the API shows them, each with its full lease history."""
    return _runs_json(rows, runs_db.lease_history(conn, [r.id for r in rows]))


def _runs_json(rows: Sequence[Any], history: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [
        wire(
            answers.Run(
                id=row.id,
                issue_id=row.issue_id,
                agent_id=row.agent_id,
                attempt=row.attempt,
                status=row.status,
                started_at=row.started_at,
                ended_at=row.ended_at,
                lease_history=[_lease(lease) for lease in history[row.id]],
                final_checkpoint=row.final_checkpoint,
                cost=answers.RunCost(
                    usd=from_micros(row.cost_micros),
                    input_tokens=row.input_tokens,
                    output_tokens=row.output_tokens,
                ),
                exit_reason=row.exit_reason,
                exit_details=row.exit_details,
                workspace_url=row.workspace_url,
            )
        )
        for row in rows
    ]


def worth_claiming(conn: Connection, company_id: str, agent_id: str) -> bool:
    """Would a claim command do anything but answer 204? (Saves a command per idle poll.)

    True when there is claimable work, and also whenever the claim would be refused (no
    such agent, paused, at capacity): the command path gives those their proper error.
    One round trip: it runs before every claim."""
    a, c = t.agents.c, t.issues.c
    mine, team_queue = repo.claimable(company_id, agent_id)
    row = conn.execute(
        repo.agent_load(a.id == agent_id, a.company_id == company_id).add_columns(
            sa.exists(sa.select(c.id).where(mine | team_queue)).label("work")
        )
    ).first()
    if row is None:
        return True
    try:
        check_can_claim(repo.load_of(row), row.running)
    except DomainError:
        return True
    return bool(row.work)


def list_runs(
    conn: Connection, company_id: str, issue_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    _require_issue(conn, company_id, issue_id)
    query = sa.select(t.runs).where(t.runs.c.issue_id == issue_id)
    return page(
        conn,
        query,
        t.runs.c.started_at,
        t.runs.c.id,
        cursor=cursor,
        limit=limit,
        render=lambda rows: runs_json(conn, rows),
    )


def get_run(conn: Connection, company_id: str, issue_id: str, run_id: str) -> dict[str, Any]:
    _require_issue(conn, company_id, issue_id)
    row = conn.execute(
        sa.select(t.runs).where(t.runs.c.id == run_id, t.runs.c.issue_id == issue_id)
    ).first()
    if row is None:
        raise NotFound("run", run_id)
    return runs_json(conn, [row])[0]


def stored_outcome(conn: Connection, command_id: str) -> Outcome | None:
    """The outcome a command answered with, once it has been applied or rejected."""
    row = conn.execute(
        sa.select(t.applied_commands).where(t.applied_commands.c.id == command_id)
    ).first()
    if row is None:
        return None
    return Outcome(row.id, row.status == CommandStatus.APPLIED, row.http_status, row.body)


def get_command(conn: Connection, company_id: str, command_id: str) -> dict[str, Any] | None:
    """The stored outcome of an applied or rejected command, as ``GET /commands/{id}`` shows it."""
    row = conn.execute(
        sa.select(t.applied_commands).where(
            t.applied_commands.c.id == command_id, t.applied_commands.c.company_id == company_id
        )
    ).first()
    if row is None:
        return None
    key = "result" if row.status == CommandStatus.APPLIED else "error"
    return {"id": row.id, "status": row.status, key: row.body}
