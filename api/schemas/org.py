"""Request bodies of the organisation: companies, teams, agents and API tokens."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from api.schemas.common import Body, Ident, Name, NotNull
from domain.model import AgentStatus
from domain.tokens import TokenRole

__all__ = ["AgentCreate", "AgentPatch", "CompanyCreate", "TeamCreate", "TokenCreate"]


class CompanyCreate(Body):
    name: Name


class TokenCreate(Body):
    role: TokenRole
    agent_id: Ident | None = None

    @model_validator(mode="after")
    def _agent_bound(self) -> TokenCreate:
        if (self.role is TokenRole.AGENT) != (self.agent_id is not None):
            raise ValueError("agentId is required for role agent and refused for role admin")
        return self


class TeamCreate(Body):
    name: Name


class AgentCreate(Body):
    name: Name
    team_ids: Annotated[list[Ident], Field(max_length=100)] = []
    capacity: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1


class AgentPatch(Body):
    name: Name | NotNull = None
    #: ``null`` clears the agent's teams.
    team_ids: Annotated[list[Ident], Field(max_length=100)] | None = None
    capacity: Annotated[int, Field(ge=1, le=1000, strict=True)] | NotNull = None
    status: AgentStatus | NotNull = None
