"""Companies, teams, agents and tokens, as the API answers them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.model import AgentStatus
from domain.tokens import TokenRole
from service.answers.common import Answer, Page, Time, wire

__all__ = [
    "Agent",
    "AgentPage",
    "Company",
    "NewToken",
    "Team",
    "TeamPage",
    "Token",
    "agent_json",
    "company_json",
    "team_json",
    "token_json",
]


class Company(Answer):
    id: str
    name: str
    created_at: Time


class Team(Answer):
    id: str
    company_id: str
    name: str
    created_at: Time


class Agent(Answer):
    id: str
    company_id: str
    name: str
    status: AgentStatus
    capacity: int
    active_runs: int
    team_ids: list[str]
    created_at: Time
    updated_at: Time


class Token(Answer):
    id: str
    company_id: str
    role: TokenRole
    agent_id: str | None
    created_at: Time


class NewToken(Token):
    """Created: the plaintext `token` is shown once, in this answer (not when an
    `Idempotency-Key` replays it: only the token's hash is stored)."""

    token: str | None = None


class TeamPage(Page):
    data: list[Team]


class AgentPage(Page):
    data: list[Agent]


def company_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(Company(id=row["id"], name=row["name"], created_at=row["created_at"]))


def team_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(
        Team(
            id=row["id"],
            company_id=row["company_id"],
            name=row["name"],
            created_at=row["created_at"],
        )
    )


def agent_json(row: Mapping[Any, Any], team_ids: Iterable[str], active_runs: int) -> dict[str, Any]:
    return wire(
        Agent(
            id=row["id"],
            company_id=row["company_id"],
            name=row["name"],
            status=row["status"],
            capacity=row["capacity"],
            active_runs=active_runs,
            team_ids=sorted(team_ids),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
    )


def token_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(
        Token(
            id=row["id"],
            company_id=row["company_id"],
            role=row["role"],
            agent_id=row["agent_id"],
            created_at=row["created_at"],
        )
    )
