"""The transport: one logical call, its retries and the follow-up of a 202."""

# The sync twin (_sync_*.py) is written from this file by `python -m api.sdk_models`.

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from agentq_client._http import (
    RETRY_STATUSES,
    WRITE_METHODS,
    Answer,
    RetryPolicy,
    decoded,
    headers_for,
    new_idempotency_key,
    raise_for,
    seg,
)
from agentq_client.errors import AgentqError, CommandPending, TransportFailed, error_for
from agentq_client.models import Me

__all__ = ["AsyncBase", "AsyncTransport"]

M = TypeVar("M", bound=BaseModel)
#: The longest pause between two polls of a 202's command, in seconds.
MAX_POLL_SECONDS = 1.0


class AsyncTransport:
    """An httpx client with the token, the retry policy and the 202 follow-up."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_seconds: float,
        retry: RetryPolicy,
        http: httpx.AsyncClient | None,
    ) -> None:
        self.token = token
        self.retry = retry
        self.http = http or httpx.AsyncClient(base_url=url, timeout=timeout_seconds)
        self.owns_http = http is None

    async def aclose(self) -> None:
        if self.owns_http:
            await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        key: str | None = None,
        if_match: int | None = None,
        timeout_seconds: float | None = None,
        retry: bool = True,
    ) -> Answer:
        """One logical call: its attempts (one ``Idempotency-Key`` for all), then, for a
        202, the command's outcome once applied."""
        if method in WRITE_METHODS and key is None:
            key = new_idempotency_key()
        headers = headers_for(self.token, method, key, if_match)
        deadline = time.monotonic() + (self.retry.total_seconds if retry else 0.0)
        response = await self._attempts(
            method, path, json, params, headers, timeout_seconds, deadline
        )
        if response.status_code == 202:
            return await self._follow(response, key)
        raise_for(response)
        return Answer(response.status_code, decoded(response), response.headers)

    async def _attempts(
        self,
        method: str,
        path: str,
        json: Any,
        params: dict[str, str] | None,
        headers: dict[str, str],
        timeout_seconds: float | None,
        deadline: float,
    ) -> httpx.Response:
        timeout: Any = httpx.USE_CLIENT_DEFAULT if timeout_seconds is None else timeout_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.http.request(
                    method, path, json=json, params=params, headers=headers, timeout=timeout
                )
            except httpx.TransportError as exc:
                delay = self.retry.backoff(attempt)
                if time.monotonic() + delay > deadline:
                    raise TransportFailed(f"{method} {path}: {exc!r}") from exc
                await asyncio.sleep(delay)
                continue
            if response.status_code in RETRY_STATUSES:
                delay = self.retry.delay_after(response)
                if time.monotonic() + delay <= deadline:
                    await asyncio.sleep(delay)
                    continue
            return response

    async def _follow(self, accepted: httpx.Response, key: str | None) -> Answer:
        """A 202: poll its ``Location`` (the command, or a bulk job) until it is done, for
        up to ``accepted_wait_seconds``."""
        location = accepted.headers.get("location")
        body = decoded(accepted) or {}
        command_id = str(body.get("commandId") or accepted.headers.get("command-id") or "")
        if not location:
            raise CommandPending(command_id, key)
        bulk = "/commands/" not in location
        until = time.monotonic() + self.retry.accepted_wait_seconds
        pause = self.retry.accepted_poll_seconds
        headers = headers_for(self.token, "GET", None, None)
        while True:
            deadline = time.monotonic() + self.retry.total_seconds
            polled = await self._attempts("GET", location, None, None, headers, None, deadline)
            raise_for(polled)
            status: dict[str, Any] = decoded(polled) or {}
            if bulk and status.get("status") != "running":
                return Answer(200, status, polled.headers)
            if not bulk and status.get("status") == "applied":
                result = status.get("result")
                return Answer(200 if result is not None else 204, result, polled.headers)
            if not bulk and status.get("status") == "rejected":
                error = status.get("error") or {}
                raise error_for(int(error.get("status") or 409), error, polled.headers)
            if time.monotonic() + pause > until:
                if bulk:
                    return Answer(200, status, polled.headers)
                raise CommandPending(command_id, key)
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_POLL_SECONDS)


class AsyncBase:
    """What every operation uses: the transport and the company the token acts in."""

    def __init__(self, transport: AsyncTransport, company_id: str | None) -> None:
        self._transport = transport
        self._company_id = company_id
        self._me: Me | None = None

    async def _whoami(self) -> Me:
        if self._me is None:
            answer = await self._transport.call("GET", "/v1/me")
            self._me = Me.model_validate(answer.body)
        return self._me

    async def company_id(self) -> str:
        """The company this client acts in: given, or the token's own (``GET /v1/me``)."""
        if self._company_id is None:
            me = await self._whoami()
            if me.company_id is None:
                raise AgentqError(
                    "the operator token belongs to no company: pass company_id= to the "
                    "client, or use client.with_company(company_id)"
                )
            self._company_id = me.company_id
        return self._company_id

    async def _co(self, path: str) -> str:
        return f"/v1/companies/{seg(await self.company_id())}{path}"

    async def _get(self, model: type[M], path: str, params: dict[str, str] | None = None) -> M:
        answer = await self._transport.call("GET", path, params=params)
        return model.model_validate(answer.body)

    async def _write(
        self,
        model: type[M],
        method: str,
        path: str,
        body: dict[str, Any] | None,
        key: str | None,
        if_match: int | None = None,
    ) -> M:
        answer = await self._transport.call(method, path, json=body, key=key, if_match=if_match)
        return model.model_validate(answer.body)

    async def _write_empty(self, method: str, path: str, key: str | None) -> None:
        await self._transport.call(method, path, key=key)
