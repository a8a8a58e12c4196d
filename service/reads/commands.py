"""Reads of commands: what an applied or rejected command answered (``GET /commands/{id}``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.commands import CommandStatus
from service.answers import common as answers
from service.answers.common import wire
from service.store import tables as t

__all__ = ["get_command"]


def get_command(conn: Connection, company_id: str, command_id: str) -> dict[str, Any] | None:
    """The stored outcome of an applied or rejected command; None until it has one."""
    row = conn.execute(
        sa.select(t.applied_commands).where(
            t.applied_commands.c.id == command_id, t.applied_commands.c.company_id == company_id
        )
    ).first()
    if row is None:
        return None
    if row.status == CommandStatus.APPLIED:
        return wire(answers.CommandStatus(id=row.id, status="applied", result=row.body))
    error = answers.Problem.model_validate(row.body)
    return wire(answers.CommandStatus(id=row.id, status="rejected", error=error))
