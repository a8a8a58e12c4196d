# Written from _async_client.py by `python -m api.sdk_models`: edit that file, not this one.
"""``Client``: every operation of the API, the company from the token, pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, cast

import httpx

from agentq_client._http import RetryPolicy
from agentq_client._sync_agent import Agent
from agentq_client._sync_ops_budgets import BudgetOperations
from agentq_client._sync_ops_events import EventOperations
from agentq_client._sync_ops_issues import IssueOperations
from agentq_client._sync_ops_org import OrgOperations
from agentq_client._sync_ops_routines import RoutineOperations
from agentq_client._sync_transport import Base, Transport
from agentq_client.errors import AgentqError

__all__ = ["Client"]

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


class Client(
    OrgOperations,
    IssueOperations,
    RoutineOperations,
    BudgetOperations,
    EventOperations,
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
        http: httpx.Client | None = None,
    ) -> None:
        transport = Transport(
            url, token, timeout_seconds=timeout_seconds, retry=retry or RetryPolicy(), http=http
        )
        super().__init__(transport, company_id)
        self._owner = True

    def with_company(self, company_id: str) -> Client:
        """This client (same token, same connections) acting in ``company_id``: what the
        operator does, for a company it just created."""
        return self._sibling(self._transport, company_id)

    def _sibling(self, transport: Transport, company_id: str | None) -> Client:
        sibling = object.__new__(type(self))
        Base.__init__(sibling, transport, company_id)
        sibling._owner = False
        return sibling

    def agent(self, agent_id: str | None = None) -> Agent:
        """The agent loop of ``agent_id``; without one, the agent token's own agent.

        Only an agent token drives a run, so for an admin (or the operator) this creates an
        agent token for ``agent_id``, used by the loop and revoked by ``agent.close()``
        (``with client.agent(aid) as agent``)."""
        me = self._whoami()
        if me.role == "agent":
            if agent_id not in (None, me.agent_id):
                raise AgentqError(f"an agent token drives only its own agent, {me.agent_id}")
            assert me.agent_id is not None
            return Agent(self, me.agent_id)
        if agent_id is None:
            raise AgentqError(f"a {me.role} token has no agent of its own: name one")
        minted = self.tokens_create({"role": "agent", "agent_id": agent_id})
        assert minted.token is not None  # a fresh token (no idempotency key replayed it)
        own = self._transport
        transport = Transport("", minted.token, timeout_seconds=0, retry=own.retry, http=own.http)
        driver = self._sibling(transport, self.company_id())
        return Agent(driver, agent_id, revoke=lambda: self.tokens_revoke(minted.id))

    def paginate(
        self, method: Callable[P, Page[T]], *args: P.args, **kwargs: P.kwargs
    ) -> Iterator[T]:
        """Every item of a list, page after page (following ``nextCursor``):
        ``client.paginate(client.issues_list, status="queued")``."""
        call = cast(Callable[..., Page[T]], method)
        params: dict[str, Any] = dict(kwargs)
        while True:
            page = call(*args, **params)
            yield from page.data
            if not page.has_more or not page.next_cursor:
                return
            params["cursor"] = page.next_cursor

    def close(self) -> None:
        if self._owner:
            self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
