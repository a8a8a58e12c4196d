"""Commands of the organisation: companies, tokens, teams, agents, webhook endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.commands.base import Command

__all__ = [
    "CreateAgent",
    "CreateCompany",
    "CreateTeam",
    "CreateToken",
    "CreateWebhook",
    "DeleteWebhook",
    "RedeliverWebhook",
    "RevokeToken",
    "UpdateAgent",
    "UpdateWebhook",
]


@dataclass(frozen=True, slots=True)
class CreateCompany(Command):
    company_id: str
    name: str
    shard_field: ClassVar[str] = "company_id"


@dataclass(frozen=True, slots=True)
class CreateToken(Command):
    """``token_hash`` only: the plaintext never travels through the queue."""

    token_id: str
    token_hash: str
    role: str
    agent_id: str | None = None
    shard_field: ClassVar[str] = "token_id"


@dataclass(frozen=True, slots=True)
class RevokeToken(Command):
    token_id: str
    shard_field: ClassVar[str] = "token_id"


@dataclass(frozen=True, slots=True)
class CreateTeam(Command):
    team_id: str
    name: str
    shard_field: ClassVar[str] = "team_id"


@dataclass(frozen=True, slots=True)
class CreateAgent(Command):
    agent_id: str
    name: str
    team_ids: tuple[str, ...] = ()
    capacity: int = 1
    shard_field: ClassVar[str] = "agent_id"


@dataclass(frozen=True, slots=True)
class UpdateAgent(Command):
    """Only the fields named in ``fields_set`` change."""

    agent_id: str
    fields_set: frozenset[str]
    name: str | None = None
    team_ids: tuple[str, ...] | None = None
    capacity: int | None = None
    status: str | None = None
    shard_field: ClassVar[str] = "agent_id"


@dataclass(frozen=True, slots=True)
class CreateWebhook(Command):
    webhook_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    description: str | None = None
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class UpdateWebhook(Command):
    """Only the fields named in ``fields_set`` change."""

    webhook_id: str
    fields_set: frozenset[str]
    url: str | None = None
    events: tuple[str, ...] | None = None
    disabled: bool | None = None
    description: str | None = None
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class DeleteWebhook(Command):
    webhook_id: str
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class RedeliverWebhook(Command):
    """Send a delivery's event to its endpoint again, as a new delivery."""

    webhook_id: str
    delivery_id: str
    new_delivery_id: str
    shard_field: ClassVar[str] = "webhook_id"
