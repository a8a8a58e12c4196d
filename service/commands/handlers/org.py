"""Command handlers for companies, tokens, teams and agents."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.audit import AuditType
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
from service.answers.common import fmt_time
from service.answers.org import company_json, team_json, token_json
from service.commands.context import Context
from service.commands.handlers.dispatch import offer_work
from service.commands.registry import handles
from service.reads.org import agent_body
from service.store import tables as t

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
    body = token_json(row)
    ctx.audit(AuditType.TOKEN_CREATED, cmd.token_id, None, body)  # the hash is no field of it
    return body


@handles(RevokeToken)
def revoke_token(cmd: RevokeToken, ctx: Context) -> None:
    """Revoke (an already revoked token stays as it was: no second entry)."""
    tokens = t.tokens.c
    row = ctx.conn.execute(
        sa.select(tokens.revoked_at)
        .where(tokens.id == cmd.token_id, tokens.company_id == ctx.company_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound("token", cmd.token_id)
    if row.revoked_at is not None:
        return
    ctx.conn.execute(t.tokens.update().where(tokens.id == cmd.token_id).values(revoked_at=ctx.now))
    ctx.audit(
        AuditType.TOKEN_REVOKED,
        cmd.token_id,
        {"revokedAt": None},
        {"revokedAt": fmt_time(ctx.now)},
    )


@handles(CreateTeam)
def create_team(cmd: CreateTeam, ctx: Context) -> dict[str, Any]:
    row = {
        "id": cmd.team_id,
        "company_id": ctx.company_id,
        "name": cmd.name,
        "created_at": ctx.now,
    }
    ctx.conn.execute(sa.insert(t.teams).values(**row))
    body = team_json(row)
    ctx.audit(AuditType.TEAM_CREATED, cmd.team_id, None, body)
    return body


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
    body = agent_body(ctx.conn, ctx.company_id, cmd.agent_id)
    ctx.audit(AuditType.AGENT_CREATED, cmd.agent_id, None, body)
    return body


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
    before = agent_body(ctx.conn, ctx.company_id, cmd.agent_id)
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
    after = agent_body(ctx.conn, ctx.company_id, cmd.agent_id)
    ctx.audit(_agent_change(before, after), cmd.agent_id, before, after)
    return after


def _agent_change(before: dict[str, Any], after: dict[str, Any]) -> AuditType:
    """A PATCH that pauses or resumes the agent is its entry's type; else ``agent.updated``."""
    if before["status"] != after["status"]:
        paused = after["status"] == AgentStatus.PAUSED
        return AuditType.AGENT_PAUSED if paused else AuditType.AGENT_RESUMED
    return AuditType.AGENT_UPDATED
