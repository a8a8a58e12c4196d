"""Issues, their labels, dependencies and comments."""

from __future__ import annotations

import sqlalchemy as sa

from domain.statuses import NON_TERMINAL, IssueStatus
from service.store.tables.base import ID, in_values, metadata
from service.store.types import JSONType, UTCDateTime

__all__ = ["comments", "issue_dependencies", "issue_labels", "issues"]

#: The live statuses, as stored (the overdue sweep's partial index names them).
_LIVE = sorted(s.value for s in NON_TERMINAL)

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
    #: The priority's rank (``domain.priorities.rank``): 4 critical … 1 low (0, stored before
    #: priority was a field, the migration made 2). Claims take the highest first.
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="2"),
    #: Fencing number of the latest lease; grows by one per lease, never reused.
    sa.Column("lease_fence", sa.Integer, nullable=False, server_default="0"),
    #: Nothing claims or dispatches the issue before this time (a retry's backoff, or a
    #: start asked for at create); NULL: at once.
    sa.Column("not_before", UTCDateTime, nullable=True),
    #: The issue's own retry backoff, in seconds (NULL: the ``AGENTQ_RETRY_*`` settings).
    sa.Column("retry_base_s", sa.Integer, nullable=True),
    sa.Column("retry_max_s", sa.Integer, nullable=True),
    #: ``budget.includeSubtasks``: the cap counts the subtasks' spend too (kept in
    #: ``budget_spend``, scope ``issue``, period ``all``).
    sa.Column("budget_include_subtasks", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint(in_values("status", IssueStatus), name="status"),
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

# The overdue sweep's candidates: live issues with a due time, in due order (a partial index,
# so the done ones, however many, are never read again).
sa.Index(
    "ix_issues_live_due",
    issues.c.due_at,
    postgresql_where=sa.and_(issues.c.due_at.is_not(None), issues.c.status.in_(_LIVE)),
    sqlite_where=sa.and_(issues.c.due_at.is_not(None), issues.c.status.in_(_LIVE)),
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
