"""Command handlers for companies, tokens, teams and agents."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.commands import (
    CreateAgent,
    CreateCompany,
    CreateTeam,
    CreateToken,
    RevokeToken,
    UpdateAgent,
)
from domain.errors import InvalidRequest, NotFound
from domain.model import AgentStatus
from service.db import tables as t
from service.handlers.context import Context
from service.handlers.dispatch import offer_work
from service.handlers.registry import handles
from service.queries import agent_body
from service.views import company_json, team_json, token_json

__all__ = [
    "create_agent",
    "create_company",
    "create_team",
    "create_token",
    "revoke_token",
    "update_agent",
]


@handles(CreateCompany)
def create_company(cmd: CreateCompany, ctx: Context) -> dict[str, Any]:
    row = {"id": cmd.company_id, "name": cmd.name, "created_at": ctx.now}
    ctx.conn.execute(sa.insert(t.companies).values(**row))
    return company_json(row)


@handles(CreateToken)
def create_token(cmd: CreateToken, ctx: Context) -> dict[str, Any]:
    if cmd.agent_id is not None:
        ctx.require(t.agents, cmd.agent_id, ["agentId"], "agent")
    row = {
        "id": cmd.token_id,
        "company_id": ctx.company_id,
        "role": cmd.role,
        "agent_id": cmd.agent_id,
        "token_hash": cmd.token_hash,
        "created_at": ctx.now,
    }
    ctx.conn.execute(sa.insert(t.tokens).values(**row))
    return token_json(row)


@handles(RevokeToken)
def revoke_token(cmd: RevokeToken, ctx: Context) -> None:
    found = ctx.conn.execute(
        t.tokens.update()
        .where(t.tokens.c.id == cmd.token_id, t.tokens.c.company_id == ctx.company_id)
        .values(revoked_at=sa.func.coalesce(t.tokens.c.revoked_at, ctx.now))
    ).rowcount
    if not found:
        raise NotFound("token", cmd.token_id)


@handles(CreateTeam)
def create_team(cmd: CreateTeam, ctx: Context) -> dict[str, Any]:
    row = {
        "id": cmd.team_id,
        "company_id": ctx.company_id,
        "name": cmd.name,
        "created_at": ctx.now,
    }
    ctx.conn.execute(sa.insert(t.teams).values(**row))
    return team_json(row)


def _check_teams(ctx: Context, team_ids: tuple[str, ...]) -> None:
    for i, team_id in enumerate(team_ids):
        ctx.require(t.teams, team_id, ["teamIds", i], "team")


@handles(CreateAgent)
def create_agent(cmd: CreateAgent, ctx: Context) -> dict[str, Any]:
    _check_teams(ctx, cmd.team_ids)
    ctx.conn.execute(
        sa.insert(t.agents).values(
            id=cmd.agent_id,
            company_id=ctx.company_id,
            name=cmd.name,
            status=AgentStatus.ACTIVE.value,
            capacity=cmd.capacity,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    )
    _set_teams(ctx, cmd.agent_id, cmd.team_ids)
    offer_work(ctx, cmd.agent_id)
    return agent_body(ctx.conn, ctx.company_id, cmd.agent_id)


def _set_teams(ctx: Context, agent_id: str, team_ids: tuple[str, ...]) -> None:
    ctx.conn.execute(t.agent_teams.delete().where(t.agent_teams.c.agent_id == agent_id))
    if team_ids:
        ctx.conn.execute(
            t.agent_teams.insert(),
            [{"agent_id": agent_id, "team_id": team_id} for team_id in sorted(set(team_ids))],
        )


@handles(UpdateAgent)
def update_agent(cmd: UpdateAgent, ctx: Context) -> dict[str, Any]:
    row = ctx.conn.execute(
        sa.select(t.agents.c.id)
        .where(t.agents.c.id == cmd.agent_id, t.agents.c.company_id == ctx.company_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound("agent", cmd.agent_id)
    values: dict[str, Any] = {}
    for name in ("name", "capacity", "status"):
        if name in cmd.fields_set:
            value = getattr(cmd, name)
            if value is None:
                raise InvalidRequest.at([name], "may not be null")
            values[name] = value
    if "team_ids" in cmd.fields_set:
        team_ids = cmd.team_ids or ()
        _check_teams(ctx, team_ids)
        _set_teams(ctx, cmd.agent_id, team_ids)
    if values or "team_ids" in cmd.fields_set:
        values["updated_at"] = ctx.now
        ctx.conn.execute(t.agents.update().where(t.agents.c.id == cmd.agent_id).values(**values))
        offer_work(ctx, cmd.agent_id)
    return agent_body(ctx.conn, ctx.company_id, cmd.agent_id)
