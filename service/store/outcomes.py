"""What each command answered, stored: ``applied_commands`` (by command id: redeliveries and
``GET /commands/{id}`` read it) and ``idempotency_keys`` (by key: a retried request reads it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.commands import CommandStatus
from service.commands.envelope import Envelope, Idempotency, Outcome
from service.store import tables as t
from service.store.activity import insert_activity
from service.webhooks import outbox

__all__ = ["forget_key", "store_outcome", "stored_key", "stored_outcome", "stored_outcomes"]


# Built once with bind parameters (``service.store.repo`` says why).
_STORED_OUTCOME = sa.select(t.applied_commands).where(
    t.applied_commands.c.id == sa.bindparam("b_id")
)
_STORED_OUTCOMES = sa.select(t.applied_commands).where(
    t.applied_commands.c.id.in_(sa.bindparam("b_ids", expanding=True))
)
_INSERT_OUTCOME = t.applied_commands.insert()
#: Most activity entries written by the outcome's own statement; more get one of their own.
MAX_ACTIVITY_IN_OUTCOME = 4


@functools.cache
def _insert_outcome(activity: int, heard: bool) -> sa.Insert:
    """The outcome's INSERT (PostgreSQL), built once per shape: with ``activity`` entries
    written by a CTE of the same statement (bind parameters ``a{i}_{column}``), and, if
    ``heard``, answering whether the company has an enabled webhook endpoint (``b_cid``).
    The command's last writes then cost one round trip."""
    statement = _INSERT_OUTCOME
    for i in range(activity):
        # A CTE a row: a multi-row VALUES would make the statement uncacheable (compiled anew
        # on every call).
        row = {
            c.name: sa.bindparam(f"a{i}_{c.name}", type_=c.type)
            for c in t.activity.c
            if c.server_default is None  # stream_pos: the database sets it
        }
        statement = statement.add_cte(t.activity.insert().values(row).cte(f"activity_{i}"))
    if heard:
        statement = statement.returning(outbox.subscribed(sa.bindparam("b_cid")))
    return statement


_INSERT_KEY = t.idempotency_keys.insert()


def stored_outcome(conn: Connection, command_id: str) -> Outcome | None:
    """The outcome a command answered with, once it has been applied or rejected."""
    row = conn.execute(_STORED_OUTCOME, {"b_id": command_id}).first()
    if row is None:
        return None
    return Outcome(row.id, row.status == CommandStatus.APPLIED, row.http_status, row.body)


def stored_outcomes(conn: Connection, command_ids: Sequence[str]) -> dict[str, Outcome]:
    """The stored outcomes of those of ``command_ids`` already applied or rejected, by id, in
    one query (a batch of commands looks its redeliveries up at once)."""
    rows = conn.execute(_STORED_OUTCOMES, {"b_ids": list(command_ids)})
    return {
        row.id: Outcome(row.id, row.status == CommandStatus.APPLIED, row.http_status, row.body)
        for row in rows
    }


def store_outcome(
    conn: Connection,
    env: Envelope,
    outcome: Outcome,
    *,
    now: datetime,
    with_key: bool,
    subscribers_of: str | None = None,
    activity: Sequence[dict[str, Any]] = (),
) -> bool:
    """Record what the command answered, with the ``activity`` entries it wrote (rows of
    ``activity``); ``with_key``: under its ``Idempotency-Key`` too.

    With ``subscribers_of`` (a company id), also whether that company has an enabled webhook
    endpoint, read by the same statement on PostgreSQL; False when not asked."""
    values = {
        "id": env.command_id,
        "company_id": env.company_id,
        "type": type(env.command).__name__,
        "status": CommandStatus.of(outcome.applied).value,
        "http_status": outcome.http_status,
        "body": outcome.body,
        "applied_at": now,
    }
    heard = False
    if conn.dialect.name == "postgresql" and len(activity) <= MAX_ACTIVITY_IN_OUTCOME:
        for i, row in enumerate(activity):
            values.update({f"a{i}_{name}": value for name, value in row.items()})
        statement = _insert_outcome(len(activity), subscribers_of is not None)
        if subscribers_of is None:
            conn.execute(statement, values)
        else:
            values["b_cid"] = subscribers_of
            heard = bool(conn.execute(statement, values).scalar_one())
    else:
        insert_activity(conn, activity)
        conn.execute(_INSERT_OUTCOME, values)
        if subscribers_of is not None:
            heard = outbox.has_subscribers(conn, subscribers_of)
    if with_key and env.idempotency is not None:
        conn.execute(
            _INSERT_KEY,
            {
                "scope": env.idempotency.scope,
                "key": env.idempotency.key,
                "request_hash": env.idempotency.request_hash,
                "command_id": env.command_id,
                "http_status": outcome.http_status,
                "body": outcome.body,
                "created_at": now,
            },
        )
    return heard


def _is(idem: Idempotency) -> sa.ColumnElement[bool]:
    k = t.idempotency_keys.c
    return sa.and_(k.scope == idem.scope, k.key == idem.key)


def stored_key(conn: Connection, idem: Idempotency) -> Any:
    """The row an earlier request with this ``Idempotency-Key`` left, if any."""
    return conn.execute(sa.select(t.idempotency_keys).where(_is(idem))).first()


def forget_key(conn: Connection, idem: Idempotency) -> None:
    conn.execute(t.idempotency_keys.delete().where(_is(idem)))
