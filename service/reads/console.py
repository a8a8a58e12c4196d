"""Reads only the web console makes (``api.console``): the board's filtered issues, what an
agent is running and since when it is idle, and the operations page's lease figures. Each
answers in the API's own shapes (``issues_json``) where it returns API resources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import from_micros
from domain.priorities import Priority, rank
from domain.statuses import TERMINAL
from service.reads.issues import issues_json
from service.store import repo
from service.store import tables as t

__all__ = [
    "BOARD_LIMIT",
    "BoardFilters",
    "agent_activity",
    "board_issues",
    "daily_spend_by",
    "lease_figures",
    "scheduler_leader",
    "spend_by_model",
]

#: The most issues the board shows at once (newest first); its filters narrow it.
BOARD_LIMIT = 500


@dataclass(frozen=True, slots=True)
class BoardFilters:
    team: str | None = None
    agent: str | None = None
    label: str | None = None
    priority: Priority | None = None
    #: Only issues past their ``dueAt`` and not finished.
    overdue: bool = False
    #: Part of the title (case-insensitive).
    search: str | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def board_issues(
    conn: Connection, company_id: str, f: BoardFilters, now: datetime
) -> list[dict[str, Any]]:
    """The company's issues the filters keep, newest first, at most ``BOARD_LIMIT``."""
    c = t.issues.c
    query = sa.select(t.issues).where(c.company_id == company_id)
    if f.team is not None:
        query = query.where(c.assigned_team_id == f.team)
    if f.agent is not None:
        query = query.where(c.assigned_agent_id == f.agent)
    if f.label is not None:
        query = query.where(
            sa.exists().where(t.issue_labels.c.issue_id == c.id, t.issue_labels.c.label == f.label)
        )
    if f.priority is not None:
        # Rank 0 was stored before priority was a field: it reads as medium.
        ranks = [rank(f.priority)] + ([0] if f.priority is Priority.MEDIUM else [])
        query = query.where(c.priority.in_(ranks))
    if f.overdue:
        query = query.where(
            c.due_at.is_not(None),
            c.due_at < now,
            c.status.not_in([s.value for s in TERMINAL]),
        )
    if f.search:
        query = query.where(sa.func.lower(c.title).like(_like(f.search.lower()), escape="\\"))
    rows = conn.execute(query.order_by(c.created_at.desc(), c.id.desc()).limit(BOARD_LIMIT))
    return issues_json(conn, repo.issues_from_rows(rows.all()))


def agent_activity(conn: Connection, company_id: str) -> dict[str, dict[str, Any]]:
    """Per agent: the issues it runs now, and when its last run ended (idle since)."""
    r, i = t.runs.c, t.issues.c
    running = conn.execute(
        sa.select(r.agent_id, i.id, i.title)
        .join(t.issues, i.id == r.issue_id)
        .where(r.company_id == company_id, r.ended_at.is_(None))
        .order_by(r.started_at)
    ).all()
    ended = conn.execute(
        sa.select(r.agent_id, sa.func.max(r.ended_at).label("last"))
        .where(r.company_id == company_id)
        .group_by(r.agent_id)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for row in running:
        out.setdefault(row.agent_id, {"running": [], "last_ended": None})["running"].append(
            {"id": row.id, "title": row.title}
        )
    for last in ended:
        out.setdefault(last.agent_id, {"running": [], "last_ended": None})["last_ended"] = last.last
    return out


def lease_figures(conn: Connection, company_id: str, now: datetime) -> dict[str, int]:
    """Leases held now, those that end within a minute, and those already past their end
    (the scheduler's next sweep expires them)."""
    le = t.leases.c
    live = (
        sa.select(sa.func.count())
        .select_from(t.leases.join(t.runs, t.runs.c.id == le.run_id))
        .where(t.runs.c.company_id == company_id, le.released_at.is_(None))
    )
    held = conn.execute(live).scalar_one()
    soon = conn.execute(
        live.where(le.expires_at >= now, le.expires_at < now + timedelta(minutes=1))
    ).scalar_one()
    past = conn.execute(live.where(le.expires_at < now)).scalar_one()
    return {"held": int(held), "expiring_1m": int(soon), "past_expiry": int(past)}


def scheduler_leader(conn: Connection, lock_key: int) -> str:
    """Who holds the scheduler's lock: a PostgreSQL session (its address and pid), or this
    process on SQLite (the embedded mode has one scheduler, always the leader)."""
    if conn.dialect.name != "postgresql":
        return "this process (embedded mode)"
    row = conn.execute(
        sa.text(
            "SELECT a.pid, a.client_addr, a.application_name, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
        ),
        {"key": lock_key},
    ).first()
    if row is None:
        return "none (no scheduler holds the lock)"
    where = f"{row.client_addr or 'local socket'}, backend pid {row.pid}"
    return f"{row.application_name or 'scheduler'} ({where}, since {row.backend_start:%H:%M:%S})"


def spend_by_model(conn: Connection, company_id: str, since: datetime) -> list[dict[str, Any]]:
    """Spend per model since ``since``, most first (the roll-ups keep no model: the events)."""
    c = t.cost_events.c
    rows = conn.execute(
        sa.select(
            c.model,
            sa.func.sum(c.usd_micros).label("usd_micros"),
            sa.func.sum(c.input_tokens).label("input_tokens"),
            sa.func.sum(c.output_tokens).label("output_tokens"),
            sa.func.count().label("reports"),
        )
        .where(c.company_id == company_id, c.at >= since)
        .group_by(c.model)
        .order_by(sa.func.sum(c.usd_micros).desc())
    )
    return [
        {
            "key": row.model,
            "usd": from_micros(int(row.usd_micros or 0)),
            "inputTokens": int(row.input_tokens or 0),
            "outputTokens": int(row.output_tokens or 0),
            "reports": int(row.reports),
        }
        for row in rows
    ]


def daily_spend_by(
    conn: Connection, company_id: str, group: str, since: datetime
) -> dict[str, dict[str, int]]:
    """Spend per UTC day and per key of ``group`` (``agent``, ``team``, ``label`` from the
    hourly roll-ups; ``model`` from the cost events), in micro-dollars; ``""``: no key."""
    if group == "model":
        e = t.cost_events.c
        rows = conn.execute(
            sa.select(e.at.label("hour"), e.model.label("key"), e.usd_micros).where(
                e.company_id == company_id, e.at >= since
            )
        )
    else:
        c = t.cost_rollups.c
        rows = conn.execute(
            sa.select(c.hour, c.key, c.usd_micros).where(
                c.company_id == company_id, c.dimension == group, c.hour >= since
            )
        )
    days: dict[str, dict[str, int]] = {}
    for row in rows:
        keys = days.setdefault(row.hour.strftime("%Y-%m-%d"), {})
        key = row.key or ""
        keys[key] = keys.get(key, 0) + int(row.usd_micros)
    return days
