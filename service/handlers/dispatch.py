"""Finding queued work for agents: what "blocked" means in SQL, and offering freed capacity."""

from __future__ import annotations

import sqlalchemy as sa

from domain.commands import DispatchIssue
from domain.statuses import IssueStatus
from service.db import tables as t
from service.db.repo import not_blocked
from service.handlers.context import Context

__all__ = ["DISPATCH_BATCH", "offer_work"]

#: At most this many queued issues are offered to an agent whose capacity freed up.
DISPATCH_BATCH = 10


def offer_work(ctx: Context, agent_id: str) -> None:
    """After an agent frees up (or becomes active): dispatch the queued work it could take."""
    c = t.issues.c
    teams = sa.select(t.agent_teams.c.team_id).where(t.agent_teams.c.agent_id == agent_id)
    waiting = (c.assigned_agent_id == agent_id) | (
        c.assigned_agent_id.is_(None) & c.assigned_team_id.in_(teams)
    )
    ids = ctx.conn.execute(
        sa.select(c.id)
        .where(c.status == IssueStatus.QUEUED.value, waiting, not_blocked())
        .order_by(c.priority.desc(), c.created_at, c.id)
        .limit(DISPATCH_BATCH)
    ).scalars()
    ctx.follow_ups.extend(DispatchIssue(issue_id) for issue_id in ids)
