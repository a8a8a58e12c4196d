"""Bulk fixtures written straight into PostgreSQL (a million issues take seconds, not hours).

Rows are what the command path would have written for the state the benchmark needs; the
figures measured on them go through the API as usual.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["seed_agents", "seed_issues", "seed_live_leases", "seed_team"]


def seed_agents(engine: Engine, company_id: str, count: int, capacity: int) -> list[str]:
    ids = [f"agt_bench{company_id[-6:]}{i:05d}" for i in range(count)]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO agents (id, company_id, name, status, capacity, created_at, "
                "updated_at) SELECT unnest(CAST(:ids AS text[])), :cid, 'bench', 'active', :cap, "
                "now(), now()"
            ),
            {"ids": ids, "cid": company_id, "cap": capacity},
        )
    return ids


def seed_team(engine: Engine, company_id: str, agent_ids: list[str]) -> str:
    """A team of ``agent_ids``."""
    team_id = f"team_bench{company_id[-6:]}"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO teams (id, company_id, name, created_at) "
                "VALUES (:id, :cid, 'bench', now())"
            ),
            {"id": team_id, "cid": company_id},
        )
        conn.execute(
            sa.text(
                "INSERT INTO agent_teams (agent_id, team_id) "
                "SELECT unnest(CAST(:agents AS text[])), :team"
            ),
            {"agents": agent_ids, "team": team_id},
        )
    return team_id


def seed_issues(
    engine: Engine,
    company_id: str,
    count: int,
    *,
    tag: str,
    status: str = "queued",
    agent_ids: list[str] | None = None,
    team_id: str | None = None,
) -> list[str]:
    """``count`` issues (``assigned`` ones spread round-robin over ``agent_ids``; all of them
    in ``team_id``'s queue if given), oldest first, one millisecond apart."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                INSERT INTO issues (id, company_id, title, status, assigned_agent_id,
                    assigned_team_id, labels, dependencies, created_at, updated_at, version,
                    max_attempts)
                SELECT 'iss_' || :tag || lpad(g::text, 8, '0'), :cid, 'seeded ' || g,
                    CAST(:status AS varchar),
                    CASE WHEN :n_agents = 0 THEN NULL
                         ELSE (CAST(:agents AS text[]))[1 + g % GREATEST(:n_agents, 1)] END,
                    CAST(:team AS varchar), '[]', '[]',
                    now() - interval '1 day' + g * interval '1 millisecond',
                    now(), CASE WHEN CAST(:status AS varchar) = 'queued' THEN 1 ELSE 2 END, 3
                FROM generate_series(1, :count) g
                """
            ),
            {
                "tag": tag,
                "cid": company_id,
                "status": status,
                "agents": agent_ids or [],
                "n_agents": len(agent_ids or []),
                "team": team_id,
                "count": count,
            },
        )
        conn.execute(sa.text("ANALYZE issues"))
        ids = conn.execute(
            sa.text("SELECT id FROM issues WHERE id LIKE :p ORDER BY id"), {"p": f"iss_{tag}%"}
        ).scalars()
        return list(ids)


def seed_live_leases(engine: Engine, company_id: str, agent_id: str, count: int) -> None:
    """``count`` running issues, each with an active run and a lease that expires tomorrow."""
    statements = [
        """INSERT INTO issues (id, company_id, title, status, assigned_agent_id, labels,
               dependencies, current_run_id, created_at, updated_at, version, max_attempts,
               attempts, lease_fence)
           SELECT 'iss_live' || lpad(g::text, 8, '0'), :cid, 'live', 'running', :agent, '[]',
               '[]', 'run_live' || lpad(g::text, 8, '0'), now(), now(), 3, 3, 1, 1
           FROM generate_series(1, :count) g""",
        """INSERT INTO runs (id, company_id, issue_id, agent_id, attempt, status, started_at)
           SELECT 'run_live' || lpad(g::text, 8, '0'), :cid, 'iss_live' || lpad(g::text, 8, '0'),
               :agent, 1, 'active', now()
           FROM generate_series(1, :count) g""",
        """INSERT INTO leases (token, run_id, issue_id, fence, lease_seconds, granted_at,
               expires_at)
           SELECT 'run_live' || lpad(g::text, 8, '0') || '.1', 'run_live' || lpad(g::text, 8, '0'),
               'iss_live' || lpad(g::text, 8, '0'), 1, 86400, now(), now() + interval '1 day'
           FROM generate_series(1, :count) g""",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), {"cid": company_id, "agent": agent_id, "count": count})
        for table in ("issues", "runs", "leases"):
            conn.execute(sa.text(f"ANALYZE {table}"))
