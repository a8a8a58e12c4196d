"""Who is calling (401) and whether they may (403, or 404 across companies)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

import redis
import sqlalchemy as sa
from litestar.connection import ASGIConnection
from sqlalchemy.engine import Connection

from api.services import services
from domain.actors import Actor
from domain.errors import DomainError, Forbidden, NotFound
from service import kinds
from service.kinds import BY_PATH_PARAM
from service.ratelimit import Verdict
from service.store import tables as t

__all__ = [
    "RATE_LIMIT_STATE",
    "Principal",
    "RateLimited",
    "TokenCache",
    "Unauthorized",
    "admin_of",
    "hash_token",
    "member_of",
    "principal",
    "refuse",
    "token_principal",
]


log = logging.getLogger("agentq.api")

#: A request, or any connection: the guards of ``api.routing`` call these too.
Caller = ASGIConnection[Any, Any, Any, Any]


class Unauthorized(DomainError):
    code = "unauthorized"


class RateLimited(DomainError):
    """429: the token used its allowance for this window (``api.ratelimit`` adds the
    ``Retry-After`` and ``RateLimit-*`` headers, as it does to every answer)."""

    code = "rate_limited"

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            f"this token may make {verdict.limit} requests per {verdict.window_s:g} s; "
            f"retry in {verdict.reset_s} s"
        )


#: Key in the ASGI scope's ``state`` of the request's rate-limit verdict (for its headers).
RATE_LIMIT_STATE = "agentq.rate_limit"


async def _count_request(request: Caller, who: Principal) -> None:
    """Draw one request from the token's allowance; 429 once it is spent."""
    limiter = services(request).limiter
    if limiter is None or who.token_id is None:
        return
    try:
        verdict = await limiter.hit(who.token_id)
    except redis.RedisError:  # the counts are unreachable: serve rather than refuse
        log.warning("rate limit store unavailable", extra={"action": "rate_limit_unavailable"})
        return
    request.scope.setdefault("state", {})[RATE_LIMIT_STATE] = verdict
    if not verdict.allowed:
        raise RateLimited(verdict)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: the operator, or a company token with a role (and an agent for agents)."""

    kind: str  # "operator" | "admin" | "agent"
    company_id: str | None = None
    agent_id: str | None = None
    token_id: str | None = None

    @property
    def actor(self) -> str:
        if self.kind == "operator":
            return str(Actor.operator())
        if self.kind == "agent" and self.agent_id is not None:
            return str(Actor.agent(self.agent_id))
        return str(Actor.user(str(self.token_id)))


@dataclass
class TokenCache:
    """Token hash -> the caller, for ``ttl_s``: most requests then skip the database.

    Only valid tokens are kept (an unknown token is looked up every time), and the cache is
    bounded: when full it starts over."""

    ttl_s: float
    max_entries: int = 10_000
    _entries: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    def get(self, token_hash: str) -> Principal | None:
        found = self._entries.get(token_hash)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def put(self, token_hash: str, who: Principal) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token_hash] = (who, time.monotonic() + self.ttl_s)

    def forget_token(self, token_id: str) -> None:
        """A revoked token stops working here at once."""
        for key in [k for k, (who, _) in self._entries.items() if who.token_id == token_id]:
            del self._entries[key]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lookup(conn: Connection, token_hash: str) -> Any:
    return conn.execute(
        sa.select(t.tokens.c.id, t.tokens.c.company_id, t.tokens.c.role, t.tokens.c.agent_id).where(
            t.tokens.c.token_hash == token_hash, t.tokens.c.revoked_at.is_(None)
        )
    ).first()


async def principal(request: Caller) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send Authorization: Bearer <token>")
    return await token_principal(request, token)


async def token_principal(request: Caller, token: str) -> Principal:
    """Whose ``token`` is (401 if nobody's), its request counted against its allowance: the
    bearer token of an API call, or the console's session cookie (``api.console.session``)."""
    svc = services(request)
    if hmac.compare_digest(token.encode(), svc.admin_token.encode()):
        return Principal("operator")
    token_hash = hash_token(token)
    who = svc.tokens.get(token_hash)
    if who is None:
        row = await svc.read(_lookup, token_hash)
        if row is None:
            raise Unauthorized("the token is not valid (unknown or revoked)")
        who = Principal(row.role, row.company_id, row.agent_id, row.id)
        svc.tokens.put(token_hash, who)
    await _count_request(request, who)
    return who


def _company_exists(conn: Connection, company_id: str) -> bool:
    found = conn.execute(sa.select(t.companies.c.id).where(t.companies.c.id == company_id))
    return found.first() is not None


async def member_of(request: Caller, company_id: str) -> Principal:
    """Any token of the company (or the operator); another company's token gets 404."""
    who = await principal(request)
    if who.kind == "operator":
        svc = services(request)
        if company_id not in svc.known_companies:
            if not await svc.read(_company_exists, company_id):
                raise NotFound("company", company_id)
            svc.known_companies.add(company_id)
        return who
    if who.company_id != company_id:
        raise NotFound("company", company_id)
    return who


async def admin_of(request: Caller, company_id: str) -> Principal:
    """The operator or the company's admin token. An agent token gets 403 before any id in
    the path is looked up: the same answer whether what it names exists, is its company's
    or another's, so it learns nothing of tokens, webhooks or bulks it may not read."""
    who = await member_of(request, company_id)
    if who.kind == "agent":
        raise Forbidden("agent tokens may not do this; use an admin token")
    return who


#: Path parameter -> (the table of the resource it names, its kind); each has ``company_id``
#: (``service.kinds``; the company is the path itself, a command is no resource to refuse).
_PATH_RESOURCES: dict[str, tuple[sa.Table, str]] = {
    param: (t.metadata.tables[kind.table], kind.name)
    for param, kind in BY_PATH_PARAM.items()
    if kind not in {kinds.COMPANY, kinds.COMMAND}
}


def _first_missing(conn: Connection, company_id: str, ids: dict[str, str]) -> NotFound | None:
    for name, ident in ids.items():
        table, kind = _PATH_RESOURCES[name]
        found = conn.execute(
            sa.select(table.c.id).where(table.c.id == ident, table.c.company_id == company_id)
        ).first()
        if found is None:
            return NotFound(kind, ident)
    return None


async def refuse(request: Caller, company_id: str, detail: str) -> NoReturn:
    """403 ``detail``, unless the path names something that is not this company's: then 404,
    so a refusal never tells another company's resource from one that does not exist."""
    ids = {
        name: value
        for name, value in request.path_params.items()
        if name in _PATH_RESOURCES and isinstance(value, str)
    }
    if ids:
        missing = await services(request).read(_first_missing, company_id, ids)
        if missing is not None:
            raise missing
    raise Forbidden(detail)
