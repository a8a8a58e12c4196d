"""What the sync and async transports share: the retry policy, request headers, answers.

A call is one logical operation. A write gets one ``Idempotency-Key`` for the call, sent on
each of its attempts, so a retry after a 503, a 429 or a dropped connection is answered by
the first attempt's outcome and applied once. 429 and 503 are retried after ``Retry-After``
(network failures after a short backoff) until ``RetryPolicy.total_seconds`` would pass.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from agentq_client.errors import error_for, retry_after_seconds

__all__ = [
    "WRITE_METHODS",
    "Answer",
    "RetryPolicy",
    "body_of",
    "headers_for",
    "new_idempotency_key",
    "parse",
    "query",
    "seg",
]

M = TypeVar("M", bound=BaseModel)

#: Methods that change something: each call of one carries an ``Idempotency-Key``.
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE", "PUT"})
#: Statuses retried after ``Retry-After`` (502/504: a proxy in front of the API).
RETRY_STATUSES = frozenset({429, 502, 503, 504})

USER_AGENT = "agentq-client/0.1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long one call may keep retrying, and how long a 202 is followed.

    ``total_seconds`` bounds the retries of a call (429, 503 after ``Retry-After``; network
    failures after ``backoff_seconds`` doubling); a wait that would pass it is not started
    and the last error is raised. ``accepted_wait_seconds``: how long the answer of a write
    answered 202 is polled for (``GET …/commands/{id}``) before ``CommandPending``."""

    total_seconds: float = 60.0
    backoff_seconds: float = 0.2
    max_backoff_seconds: float = 5.0
    #: A 503 or 429 without ``Retry-After`` waits this long.
    default_retry_after_seconds: float = 1.0
    accepted_wait_seconds: float = 60.0
    accepted_poll_seconds: float = 0.05

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)))

    def delay_after(self, response: httpx.Response) -> float:
        """How long to wait before retrying this answer."""
        after = retry_after_seconds(response.headers)
        return self.default_retry_after_seconds if after is None else after


NO_RETRY = RetryPolicy(total_seconds=0.0)


@dataclass(frozen=True, slots=True)
class Answer:
    """A final answer: its status and parsed JSON body (None for 204)."""

    status: int
    body: Any
    headers: httpx.Headers


def new_idempotency_key() -> str:
    return f"aqsdk_{uuid.uuid4().hex}"


def headers_for(token: str, method: str, key: str | None, if_match: int | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
    if method in WRITE_METHODS and key is not None:
        headers["Idempotency-Key"] = key
    if if_match is not None:
        headers["If-Match"] = f'"{if_match}"'
    return headers


def seg(value: str) -> str:
    """An id as one path segment (nothing in it can change the path)."""
    return quote(value, safe="")


def query(**params: object) -> dict[str, str]:
    """Query parameters as the API reads them: None left out, lists comma-separated,
    booleans and times as JSON writes them."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            out[name] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out


def body_of(model: type[M], body: M | Mapping[str, Any] | None) -> dict[str, Any]:
    """A request body as JSON: validated by its model here (a bad field fails before any
    request), camelCase, only the fields the caller set."""
    if body is None:
        body = model()
    elif not isinstance(body, model):
        body = model.model_validate(dict(body))
    dumped: dict[str, Any] = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dumped


def decoded(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def parse(model: type[M], answer: Answer) -> M:
    return model.model_validate(answer.body)


def raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_for(response.status_code, decoded(response), response.headers)
