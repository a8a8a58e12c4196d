"""Companies, teams, agents and tokens, as the API answers them."""

from __future__ import annotations

from domain.model import AgentStatus
from domain.tokens import TokenRole
from service.answers.common import Answer, Page, Time

__all__ = [
    "Agent",
    "AgentPage",
    "Company",
    "NewToken",
    "Team",
    "TeamPage",
    "Token",
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
