"""Operations on the organisation: companies, tokens, teams, agents, commands, webhooks,
bulk jobs, the token itself and the ops endpoints. One method per operationId.
"""

# The sync twin (_sync_*.py) is written from this file by `python -m api.sdk_models`.

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentq_client._async_transport import AsyncBase
from agentq_client._http import body_of, query, seg
from agentq_client.models import (
    Agent,
    AgentCreate,
    AgentPage,
    AgentPatch,
    BulkBody,
    BulkJob,
    ClaimBody,
    Claimed,
    CommandStatus,
    Company,
    CompanyCreate,
    Delivery,
    DeliveryPage,
    EmptyBody,
    Health,
    Index,
    Me,
    NewToken,
    NewWebhook,
    Team,
    TeamCreate,
    TeamPage,
    TokenCreate,
    Webhook,
    WebhookCreate,
    WebhookPage,
    WebhookPatch,
)

__all__ = ["AsyncOrgOperations"]

Body = Mapping[str, Any]
#: A claim long-polls ``waitSeconds``: its read timeout is that much longer, in seconds.
CLAIM_SLACK_SECONDS = 30.0


class AsyncOrgOperations(AsyncBase):
    # The token

    async def me_get(self) -> Me:
        """`GET /v1/me`: the token's role, company and agent."""
        answer = await self._transport.call("GET", "/v1/me")
        self._me = Me.model_validate(answer.body)
        return self._me

    # Companies (``companies_create``: the operator token only)

    async def companies_create(
        self, body: CompanyCreate | Body, *, idempotency_key: str | None = None
    ) -> Company:
        """`POST /v1/companies`."""
        data = body_of(CompanyCreate, body)
        return await self._write(Company, "POST", "/v1/companies", data, idempotency_key)

    async def companies_get(self) -> Company:
        """`GET /v1/companies/{cid}`: this client's company."""
        return await self._get(Company, await self._co(""))

    # Tokens

    async def tokens_create(
        self, body: TokenCreate | Body, *, idempotency_key: str | None = None
    ) -> NewToken:
        """`POST …/tokens`: the plaintext `token` is in this answer only."""
        data = body_of(TokenCreate, body)
        return await self._write(NewToken, "POST", await self._co("/tokens"), data, idempotency_key)

    async def tokens_revoke(self, tok_id: str, *, idempotency_key: str | None = None) -> None:
        """`DELETE …/tokens/{tok_id}`."""
        await self._write_empty("DELETE", await self._co(f"/tokens/{seg(tok_id)}"), idempotency_key)

    # Teams

    async def teams_list(self, *, cursor: str | None = None, limit: int | None = None) -> TeamPage:
        """`GET …/teams`, newest first."""
        return await self._get(
            TeamPage, await self._co("/teams"), query(cursor=cursor, limit=limit)
        )

    async def teams_create(
        self, body: TeamCreate | Body, *, idempotency_key: str | None = None
    ) -> Team:
        """`POST …/teams`."""
        data = body_of(TeamCreate, body)
        return await self._write(Team, "POST", await self._co("/teams"), data, idempotency_key)

    async def teams_get(self, tid: str) -> Team:
        """`GET …/teams/{tid}`."""
        return await self._get(Team, await self._co(f"/teams/{seg(tid)}"))

    # Agents

    async def agents_list(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> AgentPage:
        """`GET …/agents`, newest first."""
        path = await self._co("/agents")
        return await self._get(AgentPage, path, query(cursor=cursor, limit=limit))

    async def agents_create(
        self, body: AgentCreate | Body, *, idempotency_key: str | None = None
    ) -> Agent:
        """`POST …/agents`."""
        data = body_of(AgentCreate, body)
        return await self._write(Agent, "POST", await self._co("/agents"), data, idempotency_key)

    async def agents_get(self, aid: str) -> Agent:
        """`GET …/agents/{aid}`."""
        return await self._get(Agent, await self._co(f"/agents/{seg(aid)}"))

    async def agents_update(
        self, aid: str, body: AgentPatch | Body, *, idempotency_key: str | None = None
    ) -> Agent:
        """`PATCH …/agents/{aid}`."""
        data = body_of(AgentPatch, body)
        path = await self._co(f"/agents/{seg(aid)}")
        return await self._write(Agent, "PATCH", path, data, idempotency_key)

    async def agents_claim(self, aid: str, body: ClaimBody | Body | None = None) -> Claimed | None:
        """`POST …/agents/{aid}/claim`: a run on the agent's next issue, or None when there
        is none within `waitSeconds`. (The API does not replay a claim by its key: a claim
        retried after a lost answer may start a second run, whose lease then expires.)"""
        data = body_of(ClaimBody, body)
        wait_seconds = float(data.get("waitSeconds", 0))
        answer = await self._transport.call(
            "POST",
            await self._co(f"/agents/{seg(aid)}/claim"),
            json=data,
            timeout_seconds=wait_seconds + CLAIM_SLACK_SECONDS,
        )
        return None if answer.body is None else Claimed.model_validate(answer.body)

    # Commands

    async def commands_get(self, cmd_id: str) -> CommandStatus:
        """`GET …/commands/{cmd_id}`: what became of a write answered 202."""
        return await self._get(CommandStatus, await self._co(f"/commands/{seg(cmd_id)}"))

    # Webhooks

    async def webhooks_list(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> WebhookPage:
        """`GET …/webhooks`."""
        path = await self._co("/webhooks")
        return await self._get(WebhookPage, path, query(cursor=cursor, limit=limit))

    async def webhooks_create(
        self, body: WebhookCreate | Body, *, idempotency_key: str | None = None
    ) -> NewWebhook:
        """`POST …/webhooks`: the signing `secret` is in this answer only."""
        data = body_of(WebhookCreate, body)
        path = await self._co("/webhooks")
        return await self._write(NewWebhook, "POST", path, data, idempotency_key)

    async def webhooks_get(self, wid: str) -> Webhook:
        """`GET …/webhooks/{wid}`."""
        return await self._get(Webhook, await self._co(f"/webhooks/{seg(wid)}"))

    async def webhooks_update(
        self, wid: str, body: WebhookPatch | Body, *, idempotency_key: str | None = None
    ) -> Webhook:
        """`PATCH …/webhooks/{wid}`."""
        data = body_of(WebhookPatch, body)
        path = await self._co(f"/webhooks/{seg(wid)}")
        return await self._write(Webhook, "PATCH", path, data, idempotency_key)

    async def webhooks_delete(self, wid: str, *, idempotency_key: str | None = None) -> None:
        """`DELETE …/webhooks/{wid}`."""
        path = await self._co(f"/webhooks/{seg(wid)}")
        await self._write_empty("DELETE", path, idempotency_key)

    async def deliveries_list(
        self, wid: str, *, cursor: str | None = None, limit: int | None = None
    ) -> DeliveryPage:
        """`GET …/webhooks/{wid}/deliveries`: the delivery log."""
        path = await self._co(f"/webhooks/{seg(wid)}/deliveries")
        return await self._get(DeliveryPage, path, query(cursor=cursor, limit=limit))

    async def deliveries_redeliver(
        self, wid: str, did: str, *, idempotency_key: str | None = None
    ) -> Delivery:
        """`POST …/webhooks/{wid}/deliveries/{did}/redeliver`."""
        path = await self._co(f"/webhooks/{seg(wid)}/deliveries/{seg(did)}/redeliver")
        data = body_of(EmptyBody, None)
        return await self._write(Delivery, "POST", path, data, idempotency_key)

    # Bulk

    async def bulk_start(
        self, body: BulkBody | Body, *, idempotency_key: str | None = None
    ) -> BulkJob:
        """`POST …/issues/bulk`. A job that outlives the API's wait (202) is followed on
        `GET …/bulk/{id}` until done or the SDK's wait is over (then `status: running`)."""
        data = body_of(BulkBody, body)
        path = await self._co("/issues/bulk")
        return await self._write(BulkJob, "POST", path, data, idempotency_key)

    async def bulk_get(self, bid: str) -> BulkJob:
        """`GET …/bulk/{bid}`."""
        return await self._get(BulkJob, await self._co(f"/bulk/{seg(bid)}"))

    # Ops (no token needed; never retried: they are how a caller learns the API is down)

    async def ops_index(self) -> Index:
        """`GET /`."""
        return Index.model_validate((await self._transport.call("GET", "/", retry=False)).body)

    async def ops_health(self) -> Health:
        """`GET /health`."""
        answer = await self._transport.call("GET", "/health", retry=False)
        return Health.model_validate(answer.body)

    async def ops_ready(self) -> Health:
        """`GET /ready`: raises `Unavailable` naming what is down."""
        answer = await self._transport.call("GET", "/ready", retry=False)
        return Health.model_validate(answer.body)
