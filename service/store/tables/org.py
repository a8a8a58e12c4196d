"""Companies, their tokens, teams and agents."""

from __future__ import annotations

import sqlalchemy as sa

from domain.model import AgentStatus
from domain.tokens import TokenRole
from service.store.tables.base import ID, in_values, metadata
from service.store.types import UTCDateTime

__all__ = ["agent_teams", "agents", "companies", "teams", "tokens"]

companies = sa.Table(
    "companies",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), nullable=True),
    #: sha256 hex of the plaintext; the plaintext is never stored.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(in_values("role", TokenRole), name="role"),
    sa.CheckConstraint(
        f"(role = '{TokenRole.AGENT}') = (agent_id IS NOT NULL)", name="agent_bound"
    ),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_teams_company_created", "company_id", "created_at", "id"),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    #: When the agent was last given work; the dispatcher prefers the longest idle.
    sa.Column("idle_since", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(in_values("status", AgentStatus), name="status"),
    sa.CheckConstraint("capacity >= 1", name="capacity"),
    sa.Index("ix_agents_company_created", "company_id", "created_at", "id"),
)

agent_teams = sa.Table(
    "agent_teams",
    metadata,
    sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), primary_key=True),
    sa.Column("team_id", ID, sa.ForeignKey("teams.id"), primary_key=True),
    sa.Index("ix_agent_teams_team", "team_id", "agent_id"),
)
