"""The command side's own records: each command's stored outcome, idempotency keys, bulk jobs."""

from __future__ import annotations

import sqlalchemy as sa

from domain.bulk import BulkOp, BulkStatus
from domain.commands import CommandStatus
from service.store.tables.base import ID, in_values, metadata
from service.store.types import JSONType, UTCDateTime

__all__ = ["applied_commands", "bulk_items", "bulk_jobs", "idempotency_keys"]

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
    sa.CheckConstraint(in_values("status", CommandStatus), name="status"),
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
    sa.CheckConstraint(in_values("status", BulkStatus), name="status"),
    sa.CheckConstraint(in_values("op", BulkOp), name="op"),
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
