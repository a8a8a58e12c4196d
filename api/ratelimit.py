"""``RateLimit-*`` headers on every answer to a limited token, and ``Retry-After`` on its 429."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import RATE_LIMIT_STATE

__all__ = ["RateLimitHeaders"]


class RateLimitHeaders:
    """Wraps the application: a request that drew from a token's allowance is answered with
    ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` and ``RateLimit-Policy``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            state: dict[str, Any] = scope.get("state") or {}
            verdict = state.get(RATE_LIMIT_STATE)
            if message["type"] == "http.response.start" and verdict is not None:
                headers = MutableScopeHeaders(message)
                for name, value in verdict.headers().items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
