# Written from _async_ops_org.py by `python -m api.sdk_models`: edit that file, not this one.
"""Operations on the organisation: companies, tokens, teams, agents, commands, webhooks,
bulk jobs, the token itself and the ops endpoints. One method per operationId.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentq_client._http import body_of, query, seg
from agentq_client._sync_transport import Base
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

__all__ = ["OrgOperations"]

Body = Mapping[str, Any]
#: A claim long-polls ``waitSeconds``: its read timeout is that much longer, in seconds.
CLAIM_SLACK_SECONDS = 30.0


class OrgOperations(Base):
    # The token

    def me_get(self) -> Me:
        """`GET /v1/me`: the token's role, company and agent."""
        answer = self._transport.call("GET", "/v1/me")
        self._me = Me.model_validate(answer.body)
        return self._me

    # Companies (``companies_create``: the operator token only)

    def companies_create(
        self, body: CompanyCreate | Body, *, idempotency_key: str | None = None
    ) -> Company:
        """`POST /v1/companies`."""
        data = body_of(CompanyCreate, body)
        return self._write(Company, "POST", "/v1/companies", data, idempotency_key)

    def companies_get(self) -> Company:
        """`GET /v1/companies/{cid}`: this client's company."""
        return self._get(Company, self._co(""))

    # Tokens

    def tokens_create(
        self, body: TokenCreate | Body, *, idempotency_key: str | None = None
    ) -> NewToken:
        """`POST …/tokens`: the plaintext `token` is in this answer only."""
        data = body_of(TokenCreate, body)
        return self._write(NewToken, "POST", self._co("/tokens"), data, idempotency_key)

    def tokens_revoke(self, tok_id: str, *, idempotency_key: str | None = None) -> None:
        """`DELETE …/tokens/{tok_id}`."""
        self._write_empty("DELETE", self._co(f"/tokens/{seg(tok_id)}"), idempotency_key)

    # Teams

    def teams_list(self, *, cursor: str | None = None, limit: int | None = None) -> TeamPage:
        """`GET …/teams`, newest first."""
        return self._get(TeamPage, self._co("/teams"), query(cursor=cursor, limit=limit))

    def teams_create(self, body: TeamCreate | Body, *, idempotency_key: str | None = None) -> Team:
        """`POST …/teams`."""
        data = body_of(TeamCreate, body)
        return self._write(Team, "POST", self._co("/teams"), data, idempotency_key)

    def teams_get(self, tid: str) -> Team:
        """`GET …/teams/{tid}`."""
        return self._get(Team, self._co(f"/teams/{seg(tid)}"))

    # Agents

    def agents_list(self, *, cursor: str | None = None, limit: int | None = None) -> AgentPage:
        """`GET …/agents`, newest first."""
        path = self._co("/agents")
        return self._get(AgentPage, path, query(cursor=cursor, limit=limit))

    def agents_create(
        self, body: AgentCreate | Body, *, idempotency_key: str | None = None
    ) -> Agent:
        """`POST …/agents`."""
        data = body_of(AgentCreate, body)
        return self._write(Agent, "POST", self._co("/agents"), data, idempotency_key)

    def agents_get(self, aid: str) -> Agent:
        """`GET …/agents/{aid}`."""
        return self._get(Agent, self._co(f"/agents/{seg(aid)}"))

    def agents_update(
        self, aid: str, body: AgentPatch | Body, *, idempotency_key: str | None = None
    ) -> Agent:
        """`PATCH …/agents/{aid}`."""
        data = body_of(AgentPatch, body)
        path = self._co(f"/agents/{seg(aid)}")
        return self._write(Agent, "PATCH", path, data, idempotency_key)

    def agents_claim(self, aid: str, body: ClaimBody | Body | None = None) -> Claimed | None:
        """`POST …/agents/{aid}/claim`: a run on the agent's next issue, or None when there
        is none within `waitSeconds`. (The API does not replay a claim by its key: a claim
        retried after a lost answer may start a second run, whose lease then expires.)"""
        data = body_of(ClaimBody, body)
        wait_seconds = float(data.get("waitSeconds", 0))
        answer = self._transport.call(
            "POST",
            self._co(f"/agents/{seg(aid)}/claim"),
            json=data,
            timeout_seconds=wait_seconds + CLAIM_SLACK_SECONDS,
        )
        return None if answer.body is None else Claimed.model_validate(answer.body)

    # Commands

    def commands_get(self, cmd_id: str) -> CommandStatus:
        """`GET …/commands/{cmd_id}`: what became of a write answered 202."""
        return self._get(CommandStatus, self._co(f"/commands/{seg(cmd_id)}"))

    # Webhooks

    def webhooks_list(self, *, cursor: str | None = None, limit: int | None = None) -> WebhookPage:
        """`GET …/webhooks`."""
        path = self._co("/webhooks")
        return self._get(WebhookPage, path, query(cursor=cursor, limit=limit))

    def webhooks_create(
        self, body: WebhookCreate | Body, *, idempotency_key: str | None = None
    ) -> NewWebhook:
        """`POST …/webhooks`: the signing `secret` is in this answer only."""
        data = body_of(WebhookCreate, body)
        path = self._co("/webhooks")
        return self._write(NewWebhook, "POST", path, data, idempotency_key)

    def webhooks_get(self, wid: str) -> Webhook:
        """`GET …/webhooks/{wid}`."""
        return self._get(Webhook, self._co(f"/webhooks/{seg(wid)}"))

    def webhooks_update(
        self, wid: str, body: WebhookPatch | Body, *, idempotency_key: str | None = None
    ) -> Webhook:
        """`PATCH …/webhooks/{wid}`."""
        data = body_of(WebhookPatch, body)
        path = self._co(f"/webhooks/{seg(wid)}")
        return self._write(Webhook, "PATCH", path, data, idempotency_key)

    def webhooks_delete(self, wid: str, *, idempotency_key: str | None = None) -> None:
        """`DELETE …/webhooks/{wid}`."""
        path = self._co(f"/webhooks/{seg(wid)}")
        self._write_empty("DELETE", path, idempotency_key)

    def deliveries_list(
        self, wid: str, *, cursor: str | None = None, limit: int | None = None
    ) -> DeliveryPage:
        """`GET …/webhooks/{wid}/deliveries`: the delivery log."""
        path = self._co(f"/webhooks/{seg(wid)}/deliveries")
        return self._get(DeliveryPage, path, query(cursor=cursor, limit=limit))

    def deliveries_redeliver(
        self, wid: str, did: str, *, idempotency_key: str | None = None
    ) -> Delivery:
        """`POST …/webhooks/{wid}/deliveries/{did}/redeliver`."""
        path = self._co(f"/webhooks/{seg(wid)}/deliveries/{seg(did)}/redeliver")
        data = body_of(EmptyBody, None)
        return self._write(Delivery, "POST", path, data, idempotency_key)

    # Bulk

    def bulk_start(self, body: BulkBody | Body, *, idempotency_key: str | None = None) -> BulkJob:
        """`POST …/issues/bulk`. A job that outlives the API's wait (202) is followed on
        `GET …/bulk/{id}` until done or the SDK's wait is over (then `status: running`)."""
        data = body_of(BulkBody, body)
        path = self._co("/issues/bulk")
        return self._write(BulkJob, "POST", path, data, idempotency_key)

    def bulk_get(self, bid: str) -> BulkJob:
        """`GET …/bulk/{bid}`."""
        return self._get(BulkJob, self._co(f"/bulk/{seg(bid)}"))

    # Ops (no token needed; never retried: they are how a caller learns the API is down)

    def ops_index(self) -> Index:
        """`GET /`."""
        return Index.model_validate((self._transport.call("GET", "/", retry=False)).body)

    def ops_health(self) -> Health:
        """`GET /health`."""
        answer = self._transport.call("GET", "/health", retry=False)
        return Health.model_validate(answer.body)

    def ops_ready(self) -> Health:
        """`GET /ready`: raises `Unavailable` naming what is down."""
        answer = self._transport.call("GET", "/ready", retry=False)
        return Health.model_validate(answer.body)
