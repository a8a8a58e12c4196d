"""The dispatches a scheduler has sent and the commands pool has not applied yet.

The sweep finds the queued issues an agent could take every ``interval_s``; a backlog in the
pool (a team queue of 10,000 issues behind agents with free slots) would otherwise have the
same issues sent again on every sweep, ``BATCH`` per team each time, faster than the pool
applies them, and every other command of the shards would wait behind the flood. So a
dispatch sent is not sent again until its command is applied (its outcome is in
``applied_commands``) or ``resend_s`` has passed, and a team's free slots count the
dispatches on their way to it as taken.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.budgets import month_of
from domain.model import AgentStatus
from domain.statuses import IssueStatus
from service.clock import utc_now
from service.store import tables as t
from service.store.budgets import exhausted_clause
from service.store.repo import agent_load, due, not_blocked

__all__ = ["BATCH", "MAX_PENDING", "RESEND_S", "PendingDispatches", "dispatchable"]

#: Most candidates of each kind a sweep enqueues (dispatches: per team, and to agents
#: active again).
BATCH = 500
#: Dispatches sent and not applied yet, at most: past it a sweep sends none (the pool is
#: that far behind; sending more would only lengthen every shard's queue).
MAX_PENDING = 4 * BATCH

#: A dispatch not applied after this long is sent again, in seconds (its message was
#: dead-lettered, say). Far above a healthy pool's delay, well below a human's patience.
RESEND_S = 60.0


@dataclass(frozen=True, slots=True)
class _Sent:
    command_id: str
    team_id: str | None
    at: float  # time.monotonic(), in seconds


class PendingDispatches:
    """Per issue id: the dispatch command sent for it and not known to be applied yet."""

    def __init__(self, resend_s: float = RESEND_S) -> None:
        self.resend_s = resend_s
        self._sent: dict[str, _Sent] = {}

    def sent(self, issue_id: str, command_id: str, team_id: str | None) -> None:
        self._sent[issue_id] = _Sent(command_id, team_id, time.monotonic())

    def refresh(self, conn: Connection) -> None:
        """Forget the dispatches applied since (one query) and those sent too long ago."""
        if not self._sent:
            return
        ids = [sent.command_id for sent in self._sent.values()]
        applied = set(
            conn.execute(
                sa.select(t.applied_commands.c.id).where(t.applied_commands.c.id.in_(ids))
            ).scalars()
        )
        oldest = time.monotonic() - self.resend_s
        self._sent = {
            issue: sent
            for issue, sent in self._sent.items()
            if sent.command_id not in applied and sent.at > oldest
        }

    def issue_ids(self) -> list[str]:
        return list(self._sent)

    def per_team(self) -> Counter[str]:
        """Dispatches on their way to each team's agents: slots as good as taken."""
        return Counter(sent.team_id for sent in self._sent.values() if sent.team_id is not None)

    def __len__(self) -> int:
        return len(self._sent)


def dispatchable(conn: Connection, now: Any, pending: PendingDispatches) -> list[Any]:
    """Queued issues an agent could take now: those waiting for an agent that is active
    again, and per team as many of its oldest queued issues as its agents have free
    slots (so a long backlog does not turn into a flood of no-op commands). An issue
    whose dispatch is still on its way is not sent again, and counts as a taken slot."""
    pending.refresh(conn)
    if len(pending) >= MAX_PENDING:
        return []
    c = t.issues.c
    queued = (c.status == IssueStatus.QUEUED) & not_blocked() & due(now)
    if in_flight := pending.issue_ids():
        queued &= c.id.not_in(in_flight)
    order = (c.priority.desc(), c.created_at)
    picked = (c.id, c.company_id, c.assigned_team_id, c.assigned_agent_id)
    waiting_agent_active = sa.exists(
        sa.select(t.agents.c.id).where(
            t.agents.c.id == c.assigned_agent_id, t.agents.c.status == AgentStatus.ACTIVE
        )
    )
    found = list(
        conn.execute(
            sa.select(*picked)
            .where(queued, c.assigned_agent_id.is_not(None), waiting_agent_active)
            .order_by(*order)
            .limit(BATCH)
        )
    )
    a = t.agents.c
    # Agents whose monthly budget is spent take no new work: their slots are not free.
    month: sa.BindParameter[str] = sa.bindparam("b_month", month_of(utc_now()))
    active = agent_load(
        a.status == AgentStatus.ACTIVE, ~exhausted_clause(a.id, a.company_id, month)
    ).subquery("active")
    free_slots = conn.execute(
        sa.select(t.agent_teams.c.team_id, sa.func.sum(active.c.capacity - active.c.load))
        .join(active, active.c.id == t.agent_teams.c.agent_id)
        .where(active.c.load < active.c.capacity)
        .group_by(t.agent_teams.c.team_id)
    ).all()
    on_their_way = pending.per_team()
    for team_id, free in free_slots:
        if (room := min(int(free), BATCH) - on_their_way[team_id]) <= 0:
            continue
        found.extend(
            conn.execute(
                sa.select(*picked)
                .where(queued, c.assigned_agent_id.is_(None), c.assigned_team_id == team_id)
                .order_by(*order)
                .limit(room)
            )
        )
    return found
