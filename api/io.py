"""Parsing requests and writing answers: bodies, query strings, headers, the command wait."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response
from sqlalchemy.exc import SQLAlchemyError

from api.auth import Principal
from api.body import BODY_STATE, bad_text, shown
from api.schemas import RFC3339, RFC3339_HINT
from api.services import services
from domain.commands import Command
from domain.errors import DomainError, FieldError, InvalidRequest
from service import kinds
from service.commands.envelope import Envelope, Idempotency, Outcome
from service.observability import metrics
from service.problems import problem
from service.reads.pagination import DEFAULT_LIMIT, MAX_LIMIT, list_scope, open_cursor, sign_cursor
from service.store import outcomes

__all__ = [
    "CLIENT_CLOSED_REQUEST",
    "CLIENT_GONE",
    "LOG_FIELDS",
    "QUERY_STATE",
    "Sender",
    "Unavailable",
    "json_response",
    "log_fields",
    "parse_limit",
    "parse_time",
    "problem_response",
    "query_params",
    "read_page",
    "submit",
]

log = logging.getLogger("agentq.api")

PROBLEM_JSON = "application/problem+json"

#: Key in the ASGI scope's ``state`` of the fields a handler adds to its request's log line.
LOG_FIELDS = "agentq.log_fields"


#: Key in the ASGI scope's ``state``: the client went away before its request was read
#: whole (``api.app.RequestLog`` notes it). ``api.server.TIMED_OUT``: the server timed the
#: request's body out (and answered 408 itself).
CLIENT_GONE = "agentq.client_gone"
#: The status a request whose client went away is logged and counted with (nginx's 499).
CLIENT_CLOSED_REQUEST = 499


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


def query_params(request: Request[Any, Any, Any], allowed: set[str]) -> dict[str, str]:
    """Single-valued query parameters; an unknown one is refused (a typo is not ignored)."""
    params: dict[str, str] = {}
    errors = []
    items = list(request.query_params.multi_items())
    if any("\ufffd" in name or "\ufffd" in value for name, value in items):
        _utf8_query(request)  # percent-escapes of bytes that are no UTF-8 read as U+FFFD
    for name, value in items:
        if name not in allowed:
            errors.append(FieldError(("query", shown(name)), "unknown query parameter"))
        elif (reason := bad_text(value)) is not None:
            errors.append(FieldError(("query", name), reason))
        elif not value and name != "cursor":  # an empty cursor: the first page
            errors.append(FieldError(("query", name), "give a value, or leave it out"))
        elif name in params:
            errors.append(FieldError(("query", name), "given more than once"))
        else:
            params[name] = value
    if errors:
        raise InvalidRequest(errors)
    return params


def _utf8_query(request: Request[Any, Any, Any]) -> None:
    """422 unless the raw query string is UTF-8 once percent-decoded."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    try:
        parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRequest.at(
            ["query"], "the query string is not UTF-8 once percent-decoded"
        ) from exc


def parse_limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest.at(["query", "limit"], f"an integer from 1 to {MAX_LIMIT}")
    return int(raw)


#: Key in the ASGI scope's ``state`` of the query parameters ``api.routing`` checked.
QUERY_STATE = "agentq.query"


def checked_query(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The request's query parameters, as ``api.routing.check_request`` checked them."""
    params: dict[str, str] = request.scope.get("state", {}).get(QUERY_STATE, {})
    return params


async def read_page(request: Request[Any, Any, Any], fn: Any, *args: Any) -> dict[str, Any]:
    """A page of ``fn(conn, *args, position, limit)``: the request's cursor checked and opened
    (422 if it is not one this API gave out for this list and filters), the next one signed."""
    svc = services(request)
    params = checked_query(request)
    scope = list_scope(request.url.path, params)
    cursor = params.get("cursor")
    position = open_cursor(svc.cursor_key, scope, cursor) if cursor else None
    page: dict[str, Any] = await svc.read(fn, *args, position, parse_limit(params))
    if page.get("nextCursor"):
        page["nextCursor"] = sign_cursor(svc.cursor_key, scope, page["nextCursor"])
    return page


def parse_time(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    text = raw.replace(" ", "+")  # a "+" sent unescaped in a query string reads as a space
    try:
        if RFC3339.fullmatch(text) is None:
            raise ValueError(text)
        return datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidRequest.at(["query", name], RFC3339_HINT) from exc


def _if_match(request: Request[Any, Any, Any]) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidRequest.at(["header", "If-Match"], 'an ETag as GET returned it, e.g. "7"')
    return int(value)


def _idempotency(
    request: Request[Any, Any, Any], company_id: str | None, data: Any, part: str | None = None
) -> Idempotency | None:
    """The request's key; ``part``: one of the commands one request makes (each part keeps
    its own answer under the key, stored as a hash of the key and the part)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or "\x00" in key:
        raise InvalidRequest.at(["header", "Idempotency-Key"], "1 to 255 characters")
    canonical = json.dumps([request.method, request.url.path, data, part], sort_keys=True)
    if part is not None:
        key = "part:" + hashlib.sha256(f"{key}\x00{part}".encode()).hexdigest()
    return Idempotency(company_id or "*", key, hashlib.sha256(canonical.encode()).hexdigest())


#: Names the command a write became, on its answer (sync or 202): the key to
#: ``GET …/commands/{id}`` and to the activity entries it wrote.
COMMAND_ID_HEADER = "Command-Id"


def _outcome_response(outcome: Outcome, location: str | None) -> Response[Any]:
    headers = {COMMAND_ID_HEADER: outcome.command_id}
    body = outcome.body
    if location is not None and outcome.http_status == 201 and isinstance(body, dict):
        headers["Location"] = location.replace("{id}", str(body.get("id")))
    return json_response(body, outcome.http_status, headers)


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
    *,
    status: int = 200,
    location: str | None = None,
    command_id: str | None = None,
    creates_company: bool = False,
    idempotent: bool = True,
    wait: bool | None = None,
    part: str | None = None,
) -> Response[Any]:
    """Enqueue ``command`` and answer with its outcome, or 202 when asked to or out of time.
    A 201 carries ``Location``: ``location`` with the new resource's ``{id}``. ``part``:
    this command is one of several of the request (``_idempotency``)."""
    svc = services(request)
    data = request.scope.get("state", {}).get(BODY_STATE, {})  # as read for ``data``
    # A key belongs to the company that acts. Creating a company: to none, since the new
    # company's id differs at every request and a key scoped to it would never match.
    scope = None if creates_company else company_id
    idem = _idempotency(request, scope, data, part) if idempotent else None
    env = Envelope(
        command_id=command_id or kinds.COMMAND.new_id(),
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
    started = time.perf_counter()
    try:
        # The publisher gives up at ``publish_timeout_s`` (``workers.async_publisher``); then
        # 503: a client retries with its Idempotency-Key, since the command may be queued.
        await svc.publish(env, future is None)
    except Exception as exc:  # the broker is down, refused or lost it, or did not confirm in time
        svc.results.forget(env.command_id)
        # The caller sees only a 503: the operator reads why here (nacked, returned,
        # connection lost, not confirmed in time).
        log.warning(
            "could not queue %s: %r",
            env.command_id,
            exc,
            extra={
                "action": "publish_failed",
                "command_id": env.command_id,
                "company_id": company_id,
                "command": kind,
            },
        )
        raise Unavailable("the command queue is unavailable; retry shortly") from exc
    metrics.COMMANDS_ACCEPTED.labels(kind).inc()
    if future is None:
        return _waited(started, "accepted", _accepted(company_id, env.command_id))
    try:
        outcome = await asyncio.wait_for(future, svc.settings.command_wait_ms / 1000)
    except TimeoutError:
        svc.results.forget(env.command_id)
        try:
            await svc.mark_accepted(env)
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
            stored = await svc.read(outcomes.stored_outcome, env.command_id)
        except SQLAlchemyError:
            # The command is queued and will be applied: "accepted" is the truth, a 503 would
            # tell the caller it may not have been.
            stored = None
        if stored is None:
            return _waited(started, "accepted", _accepted(company_id, env.command_id))
        outcome = stored
    return _waited(started, "outcome", _outcome_response(outcome, location))


@dataclass(frozen=True, slots=True)
class Sender:
    """The submit step bound to one request: its caller and its company (the path's ``cid``).
    A handler takes it as ``send: Send`` (``api.routing``) and answers ``await send(command)``;
    the keywords are ``submit``'s."""

    request: Request[Any, Any, Any]
    who: Principal
    company_id: str | None

    async def __call__(
        self,
        command: Command,
        *,
        status: int = 200,
        location: str | None = None,
        company_id: str | None = None,
        creates_company: bool = False,
        idempotent: bool = True,
        wait: bool | None = None,
        part: str | None = None,
    ) -> Response[Any]:
        return await submit(
            self.request,
            self.who,
            company_id or self.company_id,
            command,
            status=status,
            location=location,
            creates_company=creates_company,
            idempotent=idempotent,
            wait=wait,
            part=part,
        )


def _waited(started: float, answer: str, response: Response[Any]) -> Response[Any]:
    """Record how long the caller waited since the command's publication for ``answer``:
    ``outcome`` (the command's) or ``accepted`` (a 202)."""
    metrics.COMMAND_WAIT.labels(answer).observe(time.perf_counter() - started)
    return response
