"""Companies, tokens, teams, agents, and the command status endpoint."""

from __future__ import annotations

import secrets
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody

from api.auth import hash_token
from api.io import Unavailable, json_response, read_page
from api.openapi import LIST, READ, reads, writes
from api.routing import Cursor, Limit, PathId, Send, admin, created_in, member, operator
from api.schemas import AgentCreate, AgentPatch, CompanyCreate, TeamCreate, TokenCreate
from api.services import services
from domain import commands as c
from domain.errors import NotFound
from service import kinds
from service.answers.common import CommandStatus
from service.answers.org import Agent, AgentPage, Company, NewToken, Team, TeamPage
from service.reads import commands, org

__all__ = [
    "AgentController",
    "CommandController",
    "CompanyController",
    "TeamController",
    "TokenController",
    "create_company",
]

Req = Request[Any, Any, Any]


@post(
    "/v1/companies",
    guards=[operator],
    operation_id="companies_create",
    tags=["companies"],
    **writes(errors=(401, 403, 413, 422, 429, 503)),
)
async def create_company(send: Send, data: JSONBody[CompanyCreate]) -> Response[Company]:
    """Create a company

    Everything else belongs to a company; only the operator token creates one."""
    company_id = kinds.COMPANY.new_id()
    command = c.CreateCompany(company_id, data.name)
    return await send(
        command,
        company_id=company_id,
        status=201,
        creates_company=True,
        location="/v1/companies/{id}",
    )


class CompanyController(Controller):
    path = ""
    tags = ["companies"]

    @get("", guards=[member], operation_id="companies_get", **reads(READ))
    async def get_company(self, request: Req, cid: PathId) -> Response[Company]:
        """Get a company

        Its id, name and creation time."""
        company = await services(request).read(org.get_company, cid)
        if company is None:
            raise NotFound("company", cid)
        return json_response(company)


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]
    guards = [admin]

    @post("", operation_id="tokens_create", **writes(located=False))
    async def create_token(
        self, cid: PathId, send: Send, data: JSONBody[TokenCreate]
    ) -> Response[NewToken]:
        """Create a token

        An admin token, or an agent token for one agent; the plaintext `token` is in this
        answer only."""
        # The plaintext is shown once, here; only its hash travels and is stored.
        plaintext = "aq_" + secrets.token_urlsafe(32)
        command = c.CreateToken(
            kinds.TOKEN.new_id(), hash_token(plaintext), data.role, data.agent_id
        )
        response = await send(command, status=201)
        if response.status_code == 201 and isinstance(response.content, dict):
            fresh = response.content.get("id") == command.token_id
            if fresh:
                response.content = {**response.content, "token": plaintext}
        return response

    @delete("/{tok_id:str}", status_code=200, operation_id="tokens_revoke", **writes(success=204))
    async def revoke_token(
        self, request: Req, cid: PathId, tok_id: PathId, send: Send
    ) -> Response[None]:
        """Revoke a token

        It stops working at once, on every API process within the auth cache's lifetime."""
        response = await send(c.RevokeToken(tok_id), status=204)
        services(request).tokens.forget_token(tok_id)
        return response


class TeamController(Controller):
    path = "/teams"
    tags = ["teams"]

    @post("", guards=[admin], operation_id="teams_create", **writes())
    async def create_team(
        self, cid: PathId, send: Send, data: JSONBody[TeamCreate]
    ) -> Response[Team]:
        """Create a team

        A queue that several agents share: an issue assigned to a team is dispatched to
        its least loaded active member."""
        command = c.CreateTeam(kinds.TEAM.new_id(), data.name)
        return await send(command, status=201, location=created_in(cid, "teams"))

    @get("", guards=[member], operation_id="teams_list", **reads(LIST))
    async def list_teams(
        self, request: Req, cid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[TeamPage]:
        """List teams

        Newest first."""
        return json_response(await read_page(request, org.list_teams, cid))

    @get("/{tid:str}", guards=[member], operation_id="teams_get", **reads(READ))
    async def get_team(self, request: Req, cid: PathId, tid: PathId) -> Response[Team]:
        """Get a team

        Its id and name."""
        return json_response(await services(request).read(org.get_team, cid, tid))


class AgentController(Controller):
    path = "/agents"
    tags = ["agents"]

    @post("", guards=[admin], operation_id="agents_create", **writes())
    async def create_agent(
        self, cid: PathId, send: Send, data: JSONBody[AgentCreate]
    ) -> Response[Agent]:
        """Create an agent

        A worker with a capacity (runs at once), in zero or more teams."""
        command = c.CreateAgent(
            kinds.AGENT.new_id(), data.name, tuple(data.team_ids), data.capacity
        )
        return await send(command, status=201, location=created_in(cid, "agents"))

    @get("", guards=[member], operation_id="agents_list", **reads(LIST))
    async def list_agents(
        self, request: Req, cid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[AgentPage]:
        """List agents

        Newest first, each with its running count."""
        return json_response(await read_page(request, org.list_agents, cid))

    @get("/{aid:str}", guards=[member], operation_id="agents_get", **reads(READ))
    async def get_agent(self, request: Req, cid: PathId, aid: PathId) -> Response[Agent]:
        """Get an agent

        Its status, capacity, teams and how many runs it has now."""
        return json_response(await services(request).read(org.agent_body, cid, aid))

    @patch("/{aid:str}", guards=[admin], operation_id="agents_update", **writes())
    async def update_agent(
        self, cid: PathId, aid: PathId, send: Send, data: JSONBody[AgentPatch]
    ) -> Response[Agent]:
        """Update an agent

        Rename it, change its teams or capacity, pause or resume it (`status`)."""
        command = c.UpdateAgent(
            aid,
            frozenset(data.model_fields_set),
            name=data.name,
            team_ids=None if data.team_ids is None else tuple(data.team_ids),
            capacity=data.capacity,
            status=data.status,
        )
        return await send(command)


class CommandController(Controller):
    path = "/commands"
    tags = ["commands"]

    @get("/{cmd_id:str}", guards=[member], operation_id="commands_get", **reads(READ))
    async def get_command(
        self, request: Req, cid: PathId, cmd_id: PathId
    ) -> Response[CommandStatus]:
        """Follow a command

        What became of a write answered 202: `accepted` (queued), `applied` (with the
        answer it would have had) or `rejected` (with the problem)."""
        svc = services(request)
        # The marker first: the worker drops it only after committing, so if it is gone by
        # now the database already holds the outcome.
        try:
            accepted: bool | None = (
                await anyio.to_thread.run_sync(svc.results.accepted_company, cmd_id) == cid
            )
        except Exception:  # the result store is down: only the database can answer
            accepted = None
        stored = await svc.read(commands.get_command, cid, cmd_id)
        if stored is not None:
            return json_response(stored)
        if accepted is None:
            raise Unavailable("the result store is unavailable; retry shortly")
        if accepted:
            return json_response({"id": cmd_id, "status": "accepted"})
        raise NotFound("command", cmd_id)
