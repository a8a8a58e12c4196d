"""Parsing requests and writing answers: bodies, query strings, headers, the command wait."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from litestar import Request, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from api.auth import Principal
from api.services import services
from domain.commands import Command
from domain.errors import DomainError, FieldError, InvalidRequest
from service import metrics, queries
from service.envelope import Envelope, Idempotency, Outcome
from service.ids import new_id
from service.pagination import DEFAULT_LIMIT, MAX_LIMIT
from service.problems import problem

__all__ = [
    "LOG_FIELDS",
    "Unavailable",
    "json_response",
    "log_fields",
    "page_of",
    "parse_body",
    "parse_limit",
    "parse_time",
    "problem_response",
    "query_params",
    "submit",
]

log = logging.getLogger("agentq.api")

M = TypeVar("M", bound=BaseModel)

PROBLEM_JSON = "application/problem+json"

#: Key in the ASGI scope's ``state`` of the fields a handler adds to its request's log line.
LOG_FIELDS = "agentq.log_fields"


def log_fields(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Fields for this request's ``http_request`` log line (the command it submitted, …)."""
    state: dict[str, Any] = request.scope.setdefault("state", {})
    fields: dict[str, Any] = state.setdefault(LOG_FIELDS, {})
    return fields


class Unavailable(DomainError):
    """A dependency (database, broker, result store) is down: 503 with ``Retry-After``."""

    code = "unavailable"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response[Any]:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    return Response(content=body, status_code=status, media_type=media, headers=dict(headers or {}))


def problem_response(code: str, detail: str, **extra: Any) -> Response[Any]:
    status, body = problem(code, detail, **extra)
    headers = {"Retry-After": "1"} if status == 503 else {}
    return json_response(body, status, headers)


def _field_errors(error: ValidationError) -> list[FieldError]:
    return [
        FieldError(tuple(e["loc"]), e["msg"].removeprefix("Value error, "))
        for e in error.errors(include_url=False)
    ]


async def parse_body(request: Request[Any, Any, Any], model: type[M]) -> tuple[M, Any]:
    """The body as ``model`` (an empty body is ``{}``), and the raw JSON for hashing."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest.at([], f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidRequest.at([], "the body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidRequest.at([], "the body must be a JSON object")
    nul = _find_nul(data, ())
    if nul is not None:
        raise InvalidRequest.at(list(nul), "text may not contain the NUL character (\\u0000)")
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        raise InvalidRequest(_field_errors(exc)) from exc


def _find_nul(
    value: Any, loc: tuple[str | int, ...], depth: int = 0
) -> tuple[str | int, ...] | None:
    """Where a NUL character hides in a parsed body (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if depth > 64:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*loc, key)
            found = _find_nul(item, (*loc, key), depth + 1)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_nul(item, (*loc, i), depth + 1)
            if found is not None:
                return found
    return None


def query_params(request: Request[Any, Any, Any], allowed: set[str]) -> dict[str, str]:
    """Single-valued query parameters; an unknown one is refused (a typo is not ignored)."""
    params: dict[str, str] = {}
    errors = []
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            errors.append(FieldError(("query", name), "unknown query parameter"))
        elif "\x00" in value:
            errors.append(FieldError(("query", name), "may not contain the NUL character"))
        elif name in params:
            errors.append(FieldError(("query", name), "given more than once"))
        else:
            params[name] = value
    if errors:
        raise InvalidRequest(errors)
    return params


def parse_limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest.at(["query", "limit"], f"an integer from 1 to {MAX_LIMIT}")
    return int(raw)


async def page_of(request: Request[Any, Any, Any], fn: Any, *args: Any) -> Response[Any]:
    """A plain cursor list: ``fn(conn, *args, cursor, limit)``, only ``cursor``/``limit`` taken."""
    params = query_params(request, {"cursor", "limit"})
    page = await services(request).read(fn, *args, params.get("cursor"), parse_limit(params))
    return json_response(page)


def parse_time(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    value: datetime | None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
        value = parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise InvalidRequest.at(
            ["query", name], "an RFC 3339 time with a zone, e.g. 2026-04-11T08:14:00Z"
        )
    return value


def _if_match(request: Request[Any, Any, Any]) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidRequest.at(["header", "If-Match"], 'an ETag as GET returned it, e.g. "7"')
    return int(value)


def _idempotency(
    request: Request[Any, Any, Any], company_id: str | None, data: Any
) -> Idempotency | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or "\x00" in key:
        raise InvalidRequest.at(["header", "Idempotency-Key"], "1 to 255 characters")
    canonical = json.dumps([request.method, request.url.path, data], sort_keys=True)
    return Idempotency(company_id or "*", key, hashlib.sha256(canonical.encode()).hexdigest())


#: Longest wait for the broker to confirm a command, in seconds; then 503 (a client retries
#: with its Idempotency-Key, as after any 503, since the command may have been queued).
PUBLISH_TIMEOUT_S = 5.0

#: Names the command a write became, on its answer (sync or 202): the key to
#: ``GET …/commands/{id}`` and to the activity entries it wrote.
COMMAND_ID_HEADER = "Command-Id"


def _outcome_response(outcome: Outcome) -> Response[Any]:
    return json_response(outcome.body, outcome.http_status, {COMMAND_ID_HEADER: outcome.command_id})


def _accepted(company_id: str | None, command_id: str) -> Response[Any]:
    headers = {COMMAND_ID_HEADER: command_id}
    if company_id:
        headers["Location"] = f"/v1/companies/{company_id}/commands/{command_id}"
    return json_response({"commandId": command_id, "status": "accepted"}, 202, headers)


async def submit(
    request: Request[Any, Any, Any],
    who: Principal,
    company_id: str | None,
    command: Command,
    data: Any,
    *,
    status: int = 200,
    command_id: str | None = None,
    creates_company: bool = False,
    idempotent: bool = True,
    wait: bool | None = None,
) -> Response[Any]:
    """Enqueue ``command`` and answer with its outcome, or 202 when asked to or out of time."""
    svc = services(request)
    # A key belongs to the company that acts. Creating a company: to none, since the new
    # company's id differs at every request and a key scoped to it would never match.
    scope = None if creates_company else company_id
    idem = _idempotency(request, scope, data) if idempotent else None
    env = Envelope(
        command_id=command_id or new_id("cmd"),
        company_id=company_id,
        actor=who.actor,
        command=command,
        success_status=status,
        expected_version=_if_match(request),
        idempotency=idem,
        reply_to=svc.results.reply_to,
        check_company=who.kind == "operator" and not creates_company,
    )
    respond_async = (
        "respond-async" in request.headers.get("prefer", "").lower() if wait is None else not wait
    )
    kind = type(command).__name__
    log_fields(request).update(command_id=env.command_id, command=kind)
    future = None if respond_async else svc.results.expect(env.command_id)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        await asyncio.wait_for(
            loop.run_in_executor(svc.publish_pool, svc.publish, env, future is None),
            PUBLISH_TIMEOUT_S,
        )
    except Exception as exc:  # the broker is down, or did not confirm in time
        svc.results.forget(env.command_id)
        raise Unavailable("the command queue is unavailable; retry shortly") from exc
    metrics.COMMANDS_ACCEPTED.labels(kind).inc()
    if future is None:
        return _waited(started, "accepted", _accepted(company_id, env.command_id))
    try:
        outcome = await asyncio.wait_for(future, svc.settings.command_wait_ms / 1000)
    except TimeoutError:
        svc.results.forget(env.command_id)
        try:
            await loop.run_in_executor(svc.publish_pool, svc.mark_accepted, env)
        except Exception:  # the command is queued all the same; its outcome will be stored
            log.warning(
                "could not mark %s accepted",
                env.command_id,
                extra={
                    "action": "mark_accepted_failed",
                    "command_id": env.command_id,
                    "company_id": company_id,
                },
            )
        try:
            stored = await svc.read(queries.stored_outcome, env.command_id)
        except SQLAlchemyError:
            # The command is queued and will be applied: "accepted" is the truth, a 503 would
            # tell the caller it may not have been.
            stored = None
        if stored is None:
            return _waited(started, "accepted", _accepted(company_id, env.command_id))
        outcome = stored
    return _waited(started, "outcome", _outcome_response(outcome))


def _waited(started: float, answer: str, response: Response[Any]) -> Response[Any]:
    """Record how long the caller waited since the command's publication for ``answer``:
    ``outcome`` (the command's) or ``accepted`` (a 202)."""
    metrics.COMMAND_WAIT.labels(answer).observe(time.perf_counter() - started)
    return response
