"""Commands of routines: issues created on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from domain.commands.base import Command

__all__ = ["CreateRoutine", "DeleteRoutine", "FireRoutine", "UpdateRoutine"]


@dataclass(frozen=True, slots=True)
class CreateRoutine(Command):
    """``template``: the issue each tick creates, as the API took it (camelCase JSON)."""

    routine_id: str
    name: str
    cron: str
    timezone: str
    template: dict[str, Any]
    catch_up: str = "skip"
    paused: bool = False
    shard_field: ClassVar[str] = "routine_id"


@dataclass(frozen=True, slots=True)
class UpdateRoutine(Command):
    """Only the fields named in ``fields_set`` change."""

    routine_id: str
    fields_set: frozenset[str]
    name: str | None = None
    cron: str | None = None
    timezone: str | None = None
    template: dict[str, Any] | None = None
    catch_up: str | None = None
    paused: bool | None = None
    shard_field: ClassVar[str] = "routine_id"


@dataclass(frozen=True, slots=True)
class DeleteRoutine(Command):
    routine_id: str
    shard_field: ClassVar[str] = "routine_id"


@dataclass(frozen=True, slots=True)
class FireRoutine(Command):
    """The scheduler found the routine due at ``due`` (its ``next_run_at`` then)."""

    routine_id: str
    due: datetime
    shard_field: ClassVar[str] = "routine_id"
