"""Reads of companies, teams and agents (an agent with its teams and its running count)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import NotFound
from service.answers.org import agent_json, company_json, team_json
from service.reads.pagination import page
from service.store import repo
from service.store import tables as t

__all__ = ["agent_body", "get_company", "get_team", "list_agents", "list_teams"]


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
        conn, query, cursor=cursor, limit=limit, render=lambda rows: _agents_json(conn, rows)
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
        cursor=cursor,
        limit=limit,
        render=lambda rows: [team_json(r._mapping) for r in rows],
    )
