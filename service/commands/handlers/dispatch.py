"""Giving queued work to agents: choosing a team's agent safely, and offering freed capacity."""

from __future__ import annotations

import sqlalchemy as sa

from domain.budgets import month_of
from domain.commands import DispatchIssue
from domain.issues import pick_agent
from domain.model import AgentLoad, AgentStatus
from domain.statuses import IssueStatus
from service.commands.context import Context
from service.store import budgets as budgets_db
from service.store import repo
from service.store import tables as t
from service.store.repo import not_blocked

__all__ = ["choose_agent", "offer_work"]

#: How many times a dispatch re-picks when its first choice filled up meanwhile.
MAX_PICKS = 5


def choose_agent(ctx: Context, team_id: str | None, exclude: str | None = None) -> list[AgentLoad]:
    """The team agent the dispatcher picks, with its row locked and its load read again under
    the lock, so concurrent dispatches never push an agent past its capacity.

    Only the chosen agent is locked (not the whole team): dispatches to different agents of
    one team run side by side. Returns ``[agent]``, or ``[]`` when nobody is available."""
    if team_id is None:
        return []
    members = repo.team_agent_ids(ctx.conn, team_id)
    # An agent whose monthly budget (its own, a team's, the company's) is spent is skipped
    # until the month turns or the cap is raised.
    spent = budgets_db.exhausted_agents(ctx.conn, ctx.company_id, members, month_of(ctx.now))
    candidates = [a for a in repo.agent_loads(ctx.conn, members) if a.id not in spent]
    for _ in range(MAX_PICKS):
        chosen = pick_agent(candidates, exclude=exclude)
        if chosen is None:
            return []
        locked = repo.agent_loads(ctx.conn, [chosen.id], for_update=True)[0]
        if locked.available:
            return [locked]
        candidates = [locked if c.id == locked.id else c for c in candidates]
    return []


def offer_work(ctx: Context, agent_id: str) -> None:
    """After an agent frees up (or becomes active): dispatch what it can take now — the
    issues waiting for it, and as many of its teams' queued issues as it has free slots
    (those waiting for their ``notBefore`` are the scheduler's to dispatch once due)."""
    loads = repo.agent_loads(ctx.conn, [agent_id])
    if not loads or loads[0].status is not AgentStatus.ACTIVE:
        return
    agent = loads[0]
    c = t.issues.c
    queued = (c.status == IssueStatus.QUEUED.value) & not_blocked() & repo.due(ctx.now)
    order = (c.priority.desc(), c.created_at, c.id)
    waiting = ctx.conn.execute(
        sa.select(c.id).where(queued, c.assigned_agent_id == agent_id).order_by(*order)
    ).scalars()
    ctx.follow_ups.extend(DispatchIssue(issue_id) for issue_id in waiting)
    free = agent.capacity - agent.load
    if free <= 0:
        return
    _, team_queue = repo.claimable(ctx.company_id, agent_id, ctx.now)
    team_work = ctx.conn.execute(
        sa.select(c.id).where(team_queue).order_by(*order).limit(free)
    ).scalars()
    ctx.follow_ups.extend(DispatchIssue(issue_id) for issue_id in team_work)
