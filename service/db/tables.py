"""The schema. The database enforces what it can: status CHECKs, foreign keys, uniques.

Money columns are integer micro-dollars (``*_micros``): exact, and summable on any engine.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from domain.approvals import ApprovalStatus
from domain.bulk import BulkOp, BulkStatus
from domain.commands import CommandStatus
from domain.costs import CostDimension
from domain.model import AgentStatus
from domain.runs import RunStatus
from domain.statuses import IssueStatus
from domain.tokens import TokenRole
from domain.webhooks import DeliveryStatus
from service.db.types import JSONType, UTCDateTime

__all__ = [
    "activity",
    "agent_teams",
    "agents",
    "applied_commands",
    "approvals",
    "bulk_items",
    "bulk_jobs",
    "comments",
    "companies",
    "cost_events",
    "cost_rollups",
    "idempotency_keys",
    "issue_dependencies",
    "issue_labels",
    "issues",
    "leases",
    "metadata",
    "runs",
    "teams",
    "tokens",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_events",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _in(column: str, values: type[StrEnum]) -> str:
    """``column IN ('a', 'b')``: the CHECK of a column holding one of ``values``, in their order."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


ID = sa.String(40)

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
    sa.CheckConstraint(_in("role", TokenRole), name="role"),
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
    sa.CheckConstraint(_in("status", AgentStatus), name="status"),
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

issues = sa.Table(
    "issues",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("parent_id", ID, sa.ForeignKey("issues.id"), nullable=True),
    sa.Column("assigned_agent_id", ID, sa.ForeignKey("agents.id"), nullable=True),
    sa.Column("assigned_team_id", ID, sa.ForeignKey("teams.id"), nullable=True),
    sa.Column("budget_micros", sa.BigInteger, nullable=True),
    sa.Column("spent_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Column("labels", JSONType, nullable=False),
    sa.Column("dependencies", JSONType, nullable=False),
    sa.Column("current_run_id", ID, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    #: From the ``priority:*`` label: 4 critical … 1 low, 0 none. Claims take the highest first.
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    #: Fencing number of the latest lease; grows by one per lease, never reused.
    sa.Column("lease_fence", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint(_in("status", IssueStatus), name="status"),
    sa.CheckConstraint("version >= 1", name="version"),
    sa.CheckConstraint("budget_micros IS NULL OR budget_micros >= 0", name="budget"),
    sa.CheckConstraint("max_attempts >= 1 AND attempts >= 0", name="attempts"),
    sa.Index("ix_issues_company_created", "company_id", "created_at", "id"),
    sa.Index("ix_issues_company_status", "company_id", "status", "created_at", "id"),
    sa.Index("ix_issues_agent", "assigned_agent_id", "status", "created_at"),
    sa.Index("ix_issues_team", "assigned_team_id", "status", "created_at"),
    sa.Index("ix_issues_parent", "parent_id", "created_at"),
)

# In claim order (priority desc, then oldest), so a claim reads the first unlocked row of its
# agent's (or team's) range and stops; and the index scan marks claimed rows' stale entries
# dead as it passes, so a long queue does not slow down as it drains.
sa.Index(
    "ix_issues_claim_agent",
    issues.c.assigned_agent_id,
    issues.c.status,
    issues.c.priority.desc(),
    issues.c.created_at,
    issues.c.id,
)
sa.Index(
    "ix_issues_claim_team",
    issues.c.assigned_team_id,
    issues.c.status,
    issues.c.priority.desc(),
    issues.c.created_at,
    issues.c.id,
)

issue_labels = sa.Table(
    "issue_labels",
    metadata,
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), primary_key=True),
    sa.Column("label", sa.String(100), primary_key=True),
    sa.Index("ix_issue_labels_label", "label", "issue_id"),
)

issue_dependencies = sa.Table(
    "issue_dependencies",
    metadata,
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), primary_key=True),
    sa.Column("depends_on_id", ID, sa.ForeignKey("issues.id"), primary_key=True),
    sa.Index("ix_issue_dependencies_on", "depends_on_id", "issue_id"),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("author", sa.String(120), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_comments_issue_created", "issue_id", "created_at", "id"),
)

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
    sa.CheckConstraint(_in("status", RunStatus), name="status"),
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

activity = sa.Table(
    "activity",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(10), nullable=True),
    sa.Column("to_status", sa.String(10), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("command_id", ID, nullable=True),
    sa.Index("ix_activity_company_at", "company_id", "at", "id"),
    sa.Index("ix_activity_issue_at", "issue_id", "at", "id"),
    sa.Index("ix_activity_company_type_at", "company_id", "type", "at", "id"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("details", JSONType, nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("decided_by", sa.String(120), nullable=True),
    sa.Column("decided_at", UTCDateTime, nullable=True),
    #: When the run's agent was shown the decision (at a checkpoint); None = not yet.
    sa.Column("seen_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(_in("status", ApprovalStatus), name="status"),
    sa.Index("ix_approvals_company_status", "company_id", "status", "created_at", "id"),
    sa.Index("ix_approvals_company_created", "company_id", "created_at", "id"),
    sa.Index("ix_approvals_run_status", "run_id", "status"),
    sa.Index("ix_approvals_issue", "issue_id", "status"),
)

cost_events = sa.Table(
    "cost_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("agent_id", ID, sa.ForeignKey("agents.id"), nullable=False),
    #: The issue's team and labels when the cost was reported (what the roll-ups count).
    sa.Column("team_id", ID, nullable=True),
    sa.Column("labels", JSONType, nullable=False),
    sa.Column("model", sa.String(100), nullable=True),
    sa.Column("usd_micros", sa.BigInteger, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.CheckConstraint(
        "usd_micros >= 0 AND input_tokens >= 0 AND output_tokens >= 0", name="amounts"
    ),
    sa.Index("ix_cost_events_company_at", "company_id", "at"),
    sa.Index("ix_cost_events_run", "run_id", "at"),
)

#: Sums of ``cost_events`` per hour and per key of each ``groupBy`` dimension (``issue``,
#: ``agent``, ``team``, ``label``, and ``total``), kept in the report's transaction: a
#: roll-up reads at most (keys x hours) rows, never the events. ``key`` is ``""`` for
#: "no team" / "no label".
cost_rollups = sa.Table(
    "cost_rollups",
    metadata,
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("dimension", sa.String(10), primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("usd_micros", sa.BigInteger, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("reports", sa.BigInteger, nullable=False),
    sa.CheckConstraint(_in("dimension", CostDimension), name="dimension"),
)

applied_commands = sa.Table(
    "applied_commands",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, nullable=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    #: The HTTP status and body the command answered with.
    sa.Column("http_status", sa.Integer, nullable=False),
    sa.Column("body", JSONType, nullable=True),
    sa.Column("applied_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(_in("status", CommandStatus), name="status"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    #: The company the key belongs to (``*`` for the operator's company-less calls).
    sa.Column("scope", ID, primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    #: sha256 of method, path and body: the same key with another request is a conflict.
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("command_id", ID, nullable=False),
    sa.Column("http_status", sa.Integer, nullable=False),
    sa.Column("body", JSONType, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_idempotency_keys_created", "created_at"),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    #: Event types, exact (``issue.done``) or ``issue.*``.
    sa.Column("events", JSONType, nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    #: ``whsec_…``: the Standard Webhooks signing secret (needed in the clear to sign).
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled_reason", sa.String(200), nullable=True),
    #: Start of the current run of failed attempts (None after any success).
    sa.Column("failing_since", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_webhook_endpoints_company", "company_id", "created_at", "id"),
)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    #: When the event was fanned out into deliveries; None = still in the outbox.
    sa.Column("relayed_at", UTCDateTime, nullable=True),
    sa.Index(
        "ix_webhook_events_outbox",
        "created_at",
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    ),
    sa.Index("ix_webhook_events_issue", "issue_id", "type"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column(
        "endpoint_id",
        ID,
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", ID, sa.ForeignKey("webhook_events.id"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    #: Attempts made so far.
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    #: While ``delivering``: a worker holds it until then (a crashed worker's hold lapses).
    sa.Column("locked_until", UTCDateTime, nullable=True),
    #: When the scheduler last put it on the queue (so a due attempt is enqueued once).
    sa.Column("enqueued_at", UTCDateTime, nullable=True),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(_in("status", DeliveryStatus), name="status"),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
)

bulk_jobs = sa.Table(
    "bulk_jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("op", sa.String(10), nullable=False),
    sa.Column("args", JSONType, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(_in("status", BulkStatus), name="status"),
    sa.CheckConstraint(_in("op", BulkOp), name="op"),
)

bulk_items = sa.Table(
    "bulk_items",
    metadata,
    sa.Column("bulk_id", ID, sa.ForeignKey("bulk_jobs.id"), primary_key=True),
    #: Position in the request's ``ids``: results come back in that order.
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("issue_id", sa.String(100), nullable=False),
    sa.Column("command_id", ID, nullable=False),
    #: The per-issue outcome once applied: ``{"ok", "status"}`` or ``{"ok", "error"}``.
    sa.Column("outcome", JSONType, nullable=True),
)
