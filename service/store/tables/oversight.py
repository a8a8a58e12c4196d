"""What humans watch: the activity trail, approvals, cost events and their hourly roll-ups.

Money columns are integer micro-dollars (``*_micros``): exact, and summable on any engine."""

from __future__ import annotations

import sqlalchemy as sa

from domain.approvals import ApprovalStatus
from domain.costs import CostDimension
from service.store.tables.base import ID, in_values, metadata
from service.store.types import JSONType, UTCDateTime

__all__ = ["activity", "approvals", "cost_events", "cost_rollups"]

activity = sa.Table(
    "activity",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    #: The issue of an issue's entry; None for a company's entry (``subject_*`` name what it
    #: is about: ``domain.audit``).
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("from_status", sa.String(10), nullable=True),
    sa.Column("to_status", sa.String(10), nullable=True),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("command_id", ID, nullable=True),
    #: A company entry's subject: its kind (``agent``, ``webhook_endpoint``…) and id (a
    #: budget's is ``<scope>:<id>``, so longer than an id).
    sa.Column("subject_type", sa.String(40), nullable=True),
    sa.Column("subject_id", sa.String(200), nullable=True),
    #: A company entry's ``{field: {"before", "after"}}`` (secrets redacted).
    sa.Column("changes", JSONType, nullable=True),
    #: The issue's ``not_before`` when the entry's change set it (a retry's backoff…).
    sa.Column("not_before", UTCDateTime, nullable=True),
    #: Where the entry stands in the event stream, read in ``(stream_pos, id)`` order
    #: (``service.reads.events``): set by the database (migration 0010), never by a writer.
    sa.Column("stream_pos", sa.BigInteger, nullable=False, server_default=sa.FetchedValue()),
    sa.Index("ix_activity_company_at", "company_id", "at", "id"),
    sa.Index("ix_activity_company_stream", "company_id", "stream_pos", "id"),
    sa.Index("ix_activity_issue_stream", "issue_id", "stream_pos", "id"),
    sa.Index("ix_activity_issue_at", "issue_id", "at", "id"),
    sa.Index("ix_activity_company_type_at", "company_id", "type", "at", "id"),
    sa.Index("ix_activity_subject", "company_id", "subject_type", "subject_id", "at", "id"),
    sa.CheckConstraint(
        "(issue_id IS NOT NULL AND to_status IS NOT NULL AND version IS NOT NULL) "
        "OR (issue_id IS NULL AND subject_type IS NOT NULL AND subject_id IS NOT NULL)",
        name="subject",
    ),
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
    #: When it expires if nobody decides (None: requested before approvals expired).
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.CheckConstraint(in_values("status", ApprovalStatus), name="status"),
    sa.Index("ix_approvals_company_status", "company_id", "status", "created_at", "id"),
    sa.Index("ix_approvals_company_created", "company_id", "created_at", "id"),
    sa.Index("ix_approvals_run_status", "run_id", "status"),
    sa.Index("ix_approvals_issue", "issue_id", "status"),
    # The scheduler's sweep: pending approvals by their expiry.
    sa.Index("ix_approvals_expiry", "status", "expires_at"),
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
    sa.CheckConstraint(in_values("dimension", CostDimension), name="dimension"),
)
