"""Runs and their leases (one active lease per issue at most)."""

from __future__ import annotations

import sqlalchemy as sa

from domain.runs import RunStatus
from service.store.tables.base import ID, in_values, metadata
from service.store.types import JSONType, UTCDateTime

__all__ = ["leases", "runs"]

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("final_checkpoint", JSONType, nullable=True),
    sa.Column("cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("input_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("exit_reason", sa.String(30), nullable=True),
    sa.Column("exit_details", JSONType, nullable=True),
    sa.Column("workspace_url", sa.String(2000), nullable=True),
    #: Which comments the agent has seen: ``{"at": <time>, "ids": [ids at that time]}``.
    sa.Column("comment_cursor", JSONType, nullable=True),
    sa.CheckConstraint(in_values("status", RunStatus), name="status"),
    sa.Index("ix_runs_issue", "issue_id", "attempt"),
)

leases = sa.Table(
    "leases",
    metadata,
    #: ``<run id>.<fence>``: names the run and the issue's fencing number.
    sa.Column("token", sa.String(60), primary_key=True),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("fence", sa.Integer, nullable=False),
    sa.Column("lease_seconds", sa.Integer, nullable=False),
    sa.Column("granted_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("renewals", sa.Integer, nullable=False, server_default="0"),
    sa.Column("released_at", UTCDateTime, nullable=True),
    sa.Column("release_reason", sa.String(30), nullable=True),
    sa.UniqueConstraint("issue_id", "fence", name="uq_leases_issue_fence"),
    # Never two live leases on one issue, whatever the code above does.
    sa.Index(
        "uq_leases_one_active_per_issue",
        "issue_id",
        unique=True,
        postgresql_where=sa.text("released_at IS NULL"),
        sqlite_where=sa.text("released_at IS NULL"),
    ),
    sa.Index(
        "ix_leases_expiry",
        "expires_at",
        postgresql_where=sa.text("released_at IS NULL"),
        sqlite_where=sa.text("released_at IS NULL"),
    ),
    sa.Index("ix_leases_run", "run_id", "granted_at"),
)
