"""Companies, tokens, teams, agents, and the command status endpoint."""

from __future__ import annotations

import secrets
from typing import Any

import anyio.to_thread
from litestar import Request, Response, delete, get, patch, post

from api.auth import admin_of, hash_token, member_of, principal
from api.io import Unavailable, json_response, page_of, parse_body, submit
from api.openapi import IDEMPOTENT, LIST, PAGE, READ, as_command, documented
from api.resources import Agent, AgentPage, CommandStatus, Company, NewToken, Team, TeamPage
from api.schemas import AgentCreate, AgentPatch, CompanyCreate, TeamCreate, TokenCreate
from api.services import services
from domain import commands as c
from domain.errors import Forbidden, NotFound
from service import queries
from service.ids import new_id

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]


@post(
    "/v1/companies",
    operation_class=documented(
        body=CompanyCreate,
        answers={201: Company},
        errors=(401, 403, 413, 422, 429, 503),
        headers=IDEMPOTENT,
        accepted=True,
    ),
)
async def create_company(request: Req) -> Response[Any]:
    who = await principal(request)
    if who.kind != "operator":
        raise Forbidden("only the operator token creates companies")
    body, data = await parse_body(request, CompanyCreate)
    company_id = new_id("cmp")
    command = c.CreateCompany(company_id, body.name)
    return await submit(request, who, company_id, command, data, status=201, creates_company=True)


@get("/v1/companies/{cid:str}", operation_class=documented(answers={200: Company}, errors=READ))
async def get_company(request: Req, cid: str) -> Response[Any]:
    await member_of(request, cid)
    company = await services(request).read(queries.get_company, cid)
    if company is None:
        raise NotFound("company", cid)
    return json_response(company)


@post(
    "/v1/companies/{cid:str}/tokens",
    operation_class=as_command(TokenCreate, NewToken, 201),
)
async def create_token(request: Req, cid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, TokenCreate)
    # The plaintext is shown once, here; only its hash travels and is stored.
    plaintext = "aq_" + secrets.token_urlsafe(32)
    command = c.CreateToken(new_id("tok"), hash_token(plaintext), body.role, body.agent_id)
    response = await submit(request, who, cid, command, data, status=201)
    if response.status_code == 201 and isinstance(response.content, dict):
        fresh = response.content.get("id") == command.token_id
        if fresh:
            response.content = {**response.content, "token": plaintext}
    return response


@delete(
    "/v1/companies/{cid:str}/tokens/{tok_id:str}",
    status_code=200,  # answers 204 (Litestar refuses a 204 handler that returns a Response)
    operation_class=as_command(None, None, 204),
)
async def revoke_token(request: Req, cid: str, tok_id: str) -> Response[Any]:
    who = await admin_of(request, cid)
    response = await submit(request, who, cid, c.RevokeToken(tok_id), {}, status=204)
    services(request).tokens.forget_token(tok_id)
    return response


@post(
    "/v1/companies/{cid:str}/teams",
    operation_class=as_command(TeamCreate, Team, 201),
)
async def create_team(request: Req, cid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, TeamCreate)
    return await submit(request, who, cid, c.CreateTeam(new_id("tm"), body.name), data, status=201)


@get(
    "/v1/companies/{cid:str}/teams",
    operation_class=documented(answers={200: TeamPage}, errors=LIST, query=PAGE),
)
async def list_teams(request: Req, cid: str) -> Response[Any]:
    await member_of(request, cid)
    return await page_of(request, queries.list_teams, cid)


@get(
    "/v1/companies/{cid:str}/teams/{tid:str}",
    operation_class=documented(answers={200: Team}, errors=READ),
)
async def get_team(request: Req, cid: str, tid: str) -> Response[Any]:
    await member_of(request, cid)
    return json_response(await services(request).read(queries.get_team, cid, tid))


@post(
    "/v1/companies/{cid:str}/agents",
    operation_class=as_command(AgentCreate, Agent, 201),
)
async def create_agent(request: Req, cid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, AgentCreate)
    command = c.CreateAgent(new_id("agt"), body.name, tuple(body.team_ids), body.capacity)
    return await submit(request, who, cid, command, data, status=201)


@get(
    "/v1/companies/{cid:str}/agents",
    operation_class=documented(answers={200: AgentPage}, errors=LIST, query=PAGE),
)
async def list_agents(request: Req, cid: str) -> Response[Any]:
    await member_of(request, cid)
    return await page_of(request, queries.list_agents, cid)


@get(
    "/v1/companies/{cid:str}/agents/{aid:str}",
    operation_class=documented(answers={200: Agent}, errors=READ),
)
async def get_agent(request: Req, cid: str, aid: str) -> Response[Any]:
    await member_of(request, cid)
    return json_response(await services(request).read(queries.agent_body, cid, aid))


@patch(
    "/v1/companies/{cid:str}/agents/{aid:str}",
    operation_class=as_command(AgentPatch, Agent),
)
async def update_agent(request: Req, cid: str, aid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, AgentPatch)
    fields = {"team_ids" if f == "team_ids" else f for f in body.model_fields_set}
    command = c.UpdateAgent(
        aid,
        frozenset(fields),
        name=body.name,
        team_ids=None if body.team_ids is None else tuple(body.team_ids),
        capacity=body.capacity,
        status=body.status,
    )
    return await submit(request, who, cid, command, data)


@get(
    "/v1/companies/{cid:str}/commands/{cmd_id:str}",
    operation_class=documented(answers={200: CommandStatus}, errors=READ),
)
async def get_command(request: Req, cid: str, cmd_id: str) -> Response[Any]:
    await member_of(request, cid)
    svc = services(request)
    # The marker first: the worker drops it only after committing, so if it is gone by
    # now the database already holds the outcome.
    try:
        accepted: bool | None = (
            await anyio.to_thread.run_sync(svc.results.accepted_company, cmd_id) == cid
        )
    except Exception:  # the result store is down: only the database can answer
        accepted = None
    stored = await svc.read(queries.get_command, cid, cmd_id)
    if stored is not None:
        return json_response(stored)
    if accepted is None:
        raise Unavailable("the result store is unavailable; retry shortly")
    if accepted:
        return json_response({"id": cmd_id, "status": "accepted"})
    raise NotFound("command", cmd_id)


ROUTES = [
    create_company,
    get_company,
    create_token,
    revoke_token,
    create_team,
    list_teams,
    get_team,
    create_agent,
    list_agents,
    get_agent,
    update_agent,
    get_command,
]
