"""``AsyncClient``: every operation of the API, the company from the token, pagination."""

# The sync twin (_sync_*.py) is written from this file by `python -m api.sdk_models`.

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, cast

import httpx

from agentq_client._async_agent import AsyncAgent
from agentq_client._async_ops_budgets import AsyncBudgetOperations
from agentq_client._async_ops_events import AsyncEventOperations
from agentq_client._async_ops_issues import AsyncIssueOperations
from agentq_client._async_ops_org import AsyncOrgOperations
from agentq_client._async_ops_routines import AsyncRoutineOperations
from agentq_client._async_transport import AsyncBase, AsyncTransport
from agentq_client._http import RetryPolicy
from agentq_client.errors import AgentqError

__all__ = ["AsyncClient"]

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Page(Protocol[T_co]):
    """What every list answers: a page of ``data`` and the cursor of the next."""

    @property
    def data(self) -> Sequence[T_co]: ...

    @property
    def next_cursor(self) -> str | None: ...

    @property
    def has_more(self) -> bool: ...


class AsyncClient(
    AsyncOrgOperations,
    AsyncIssueOperations,
    AsyncRoutineOperations,
    AsyncBudgetOperations,
    AsyncEventOperations,
):
    """The API at ``url`` with ``token``: one method per operation (named by its
    operationId), typed bodies and answers, errors raised as ``agentq_client.errors``.

    The company is the token's own (``GET /v1/me``, read once, on first need); the operator
    token has none, so it names one: ``company_id=`` or ``with_company()``."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        company_id: str | None = None,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        transport = AsyncTransport(
            url, token, timeout_seconds=timeout_seconds, retry=retry or RetryPolicy(), http=http
        )
        super().__init__(transport, company_id)
        self._owner = True

    def with_company(self, company_id: str) -> AsyncClient:
        """This client (same token, same connections) acting in ``company_id``: what the
        operator does, for a company it just created."""
        return self._sibling(self._transport, company_id)

    def _sibling(self, transport: AsyncTransport, company_id: str | None) -> AsyncClient:
        sibling = object.__new__(type(self))
        AsyncBase.__init__(sibling, transport, company_id)
        sibling._owner = False
        return sibling

    async def agent(self, agent_id: str | None = None) -> AsyncAgent:
        """The agent loop of ``agent_id``; without one, the agent token's own agent.

        Only an agent token drives a run, so for an admin (or the operator) this creates an
        agent token for ``agent_id``, used by the loop and revoked by ``agent.aclose()``
        (``async with await client.agent(aid) as agent``)."""
        me = await self._whoami()
        if me.role == "agent":
            if agent_id not in (None, me.agent_id):
                raise AgentqError(f"an agent token drives only its own agent, {me.agent_id}")
            assert me.agent_id is not None
            return AsyncAgent(self, me.agent_id)
        if agent_id is None:
            raise AgentqError(f"a {me.role} token has no agent of its own: name one")
        minted = await self.tokens_create({"role": "agent", "agent_id": agent_id})
        assert minted.token is not None  # a fresh token (no idempotency key replayed it)
        own = self._transport
        transport = AsyncTransport(
            "", minted.token, timeout_seconds=0, retry=own.retry, http=own.http
        )
        driver = self._sibling(transport, await self.company_id())
        return AsyncAgent(driver, agent_id, revoke=lambda: self.tokens_revoke(minted.id))

    async def paginate(
        self, method: Callable[P, Awaitable[Page[T]]], *args: P.args, **kwargs: P.kwargs
    ) -> AsyncIterator[T]:
        """Every item of a list, page after page (following ``nextCursor``):
        ``client.paginate(client.issues_list, status="queued")``."""
        call = cast(Callable[..., Awaitable[Page[T]]], method)
        params: dict[str, Any] = dict(kwargs)
        while True:
            page = await call(*args, **params)
            for item in page.data:  # each
                yield item
            if not page.has_more or not page.next_cursor:
                return
            params["cursor"] = page.next_cursor

    async def aclose(self) -> None:
        if self._owner:
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
