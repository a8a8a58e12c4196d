"""The event stream: the activity trail as server-sent events, live and resumable.

A stream reads the activity table itself, in stream order and below the watermark
(``service.reads.events``), whenever the process's hub wakes it (``service.events.hub``)
and at least every ``events_poll_s``; it holds at most one page of entries, so a slow
client costs the server a page and the socket's buffer, and one that takes nothing for
``events_send_timeout_s`` is disconnected (it resumes with ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, cast

import anyio
from litestar import Controller, Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter
from litestar.response.base import ASGIResponse
from litestar.response.sse import ServerSentEvent, ServerSentEventMessage
from litestar.types import Message, Receive, Scope, Send

from api.activity_params import SCOPES, entry_scope, entry_type
from api.openapi import ADMIN_LIST, reads
from api.routing import PathId, admin, issue_watcher, query_text
from api.services import Services, services
from api.streams import ABORT, STREAMING
from domain.errors import InvalidRequest, NotFound
from domain.events import ACTIVITY_TYPES, ISSUE_ACTIVITY_TYPES
from service.answers.oversight import ActivityEntry
from service.events.hub import EventHub
from service.reads.events import (
    Position,
    StreamFilter,
    current_run_agent,
    read_batch,
    resume_at,
    start_at,
)

__all__ = ["EVENT_STREAM", "EventController", "IssueEventController", "open_stream"]

Req = Request[Any, Any, Any]

EVENT_STREAM = "text/event-stream"
#: Entries read (and held) at most at a time by one stream.
PAGE = 200
#: A stream that saw entries not yet safe to send reads again after this, doubling up to
#: ``HELD_MAX_S``, in seconds (another transaction holds the watermark back for a moment).
HELD_FIRST_S, HELD_MAX_S = 0.02, 1.0

_ENTRY_TYPES = sorted(ACTIVITY_TYPES)


def _stream_answer() -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            data_container=ActivityEntry,
            media_type=EVENT_STREAM,
            description="A stream of server-sent events, one per activity entry: `id:` the "
            "entry's id, `event:` its type, `data:` the entry as JSON; a comment line "
            "(`: keep-alive`) when idle.",
            generate_examples=False,
        )
    }


def _docs(errors: tuple[int, ...]) -> dict[str, Any]:
    documented = reads(errors)
    documented["responses"] = {**documented["responses"], **_stream_answer()}
    return documented


class BoundedStream:
    """Litestar's stream, but a chunk the client has not made room for within
    ``send_timeout_s`` ends it: the connection is dropped (``api.streams.ABORT``), which the
    stream sees as the client's disconnect."""

    def __init__(
        self, inner: ASGIResponse, send_timeout_s: float, abort: Callable[[], None] | None
    ) -> None:
        self.inner, self.send_timeout_s, self.abort = inner, send_timeout_s, abort

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed(message: Message) -> None:
            with anyio.move_on_after(self.send_timeout_s) as waited:
                await send(message)
            if waited.cancelled_caught and self.abort is not None:
                self.abort()

        await self.inner(scope, receive, timed)


class EventStream(ServerSentEvent):
    def __init__(
        self, content: AsyncIterator[ServerSentEventMessage], send_timeout_s: float
    ) -> None:
        super().__init__(content)
        self.send_timeout_s = send_timeout_s

    def to_asgi_response(self, app: Any, request: Req, **kwargs: Any) -> ASGIResponse:
        inner = super().to_asgi_response(app, request, **kwargs)
        abort = request.scope.get("state", {}).get(ABORT)
        # Litestar only calls what this returns, as an ASGI application.
        return cast(ASGIResponse, BoundedStream(inner, self.send_timeout_s, abort))


async def _messages(
    svc: Services, hub: EventHub, f: StreamFilter, after: Position
) -> AsyncIterator[ServerSentEventMessage]:
    settings = svc.settings
    keepalive_s, poll_s = settings.events_keepalive_s, settings.events_poll_s
    waker = hub.subscribe(f.company_id)
    try:
        held_s = HELD_FIRST_S
        quiet_since = time.monotonic()
        end = quiet_since + settings.events_max_s
        # Spread the periodic reads of many streams opened together.
        next_poll = quiet_since + poll_s * random.uniform(0.5, 1.0)
        while True:
            waker.clear()
            batch = await svc.read(read_batch, f, after, PAGE)
            after = batch.after
            for entry in batch.entries:
                data = json.dumps(entry, separators=(",", ":"))
                yield ServerSentEventMessage(data=data, id=entry["id"], event=entry["type"])
            now = time.monotonic()
            if batch.entries:
                quiet_since = now
            if batch.more:
                continue
            if now >= end:
                return  # the client resumes after what it has
            next_poll = now + poll_s
            wait_s = min(next_poll, quiet_since + keepalive_s, end) - now
            if batch.held:
                wait_s, held_s = min(wait_s, held_s), min(held_s * 2, HELD_MAX_S)
            else:
                held_s = HELD_FIRST_S
            try:
                await asyncio.wait_for(waker.wait(), max(wait_s, 0))
            except TimeoutError:
                now = time.monotonic()
                if now - quiet_since >= keepalive_s:
                    yield ServerSentEventMessage(data=None, comment="keep-alive")
                    quiet_since = now
    finally:
        hub.unsubscribe(f.company_id, waker)


async def open_stream(
    request: Req, f: StreamFilter, last_event_id: str | None, after: str | None
) -> EventStream:
    """Where the stream starts (checked before any byte is sent), then the stream."""
    svc = services(request)
    hub: EventHub = request.app.state.event_hub
    resume, where = (last_event_id, "header") if last_event_id is not None else (after, "query")
    if resume is None:
        position = await svc.read(start_at, f.company_id)
    else:
        found = await svc.read(resume_at, f.company_id, resume)
        if found is None:
            name = "Last-Event-ID" if where == "header" else "after"
            raise InvalidRequest.at([where, name], f"no activity entry {resume!r} here")
        position = found
    request.scope["state"][STREAMING] = True
    messages = _messages(svc, hub, f, position)
    return EventStream(messages, svc.settings.events_send_timeout_s)


def _issue_type(value: str | None) -> str | None:
    """An issue's stream has only an issue's entries."""
    if value is not None and value not in ISSUE_ACTIVITY_TYPES:
        kinds = ", ".join(sorted(ISSUE_ACTIVITY_TYPES))
        raise InvalidRequest.at(["query", "type"], f"one of an issue's entry types: {kinds}")
    return value


LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        description="The id of the last entry received: the stream goes on right after it "
        "(what a reconnecting EventSource sends; it wins over `after`).",
    ),
]
After = Annotated[
    str | None, query_text("Start right after this entry (its id), as `Last-Event-ID` does.")
]
TypeFilter = Annotated[str | None, query_text("Only entries of this type.", enum=_ENTRY_TYPES)]
IssueTypeFilter = Annotated[
    str | None,
    query_text("Only entries of this type.", enum=sorted(ISSUE_ACTIVITY_TYPES)),
]


class EventController(Controller):
    path = "/events"
    tags = ["activity"]
    guards = [admin]

    @get("", operation_id="events_stream", **_docs(ADMIN_LIST))
    async def company_events(
        self,
        request: Req,
        cid: PathId,
        last_event_id: LastEventId = None,
        after: After = None,
        type: TypeFilter = None,
        issue_id: Annotated[
            str | None, query_text("Only this issue's entries.", name="issueId")
        ] = None,
        entries: Annotated[
            str | None,
            query_text(
                "Which entries: `issue` (the default), an issue's; `company`, the company's "
                "own; `all`, both (as `GET …/activity`).",
                enum=SCOPES,
                name="scope",
            ),
        ] = None,
    ) -> EventStream:
        """Stream activity

        The company's activity trail as server-sent events, from now on (or right after
        `Last-Event-ID` / `after`), live; each entry exactly once, in stream order, across
        reconnects to any API process. `scope` picks an issue's entries (the default), the
        company's own, or all."""
        scope = entry_scope(entries, issue_id, entry_type(type))
        return await open_stream(
            request, StreamFilter(cid, issue_id, type, scope), last_event_id, after
        )


class IssueEventController(Controller):
    path = "/issues/{iid:str}/events"
    tags = ["activity"]
    guards = [issue_watcher]

    @get("", operation_id="issues_events", **_docs(ADMIN_LIST))
    async def issue_events(
        self,
        request: Req,
        cid: PathId,
        iid: PathId,
        last_event_id: LastEventId = None,
        after: After = None,
        type: IssueTypeFilter = None,
    ) -> EventStream:
        """Stream an issue's activity

        One issue's activity trail as server-sent events, as the company's stream: for an
        admin, or the agent of the issue's current run."""
        found, _ = await services(request).read(current_run_agent, cid, iid)
        if not found:
            raise NotFound("issue", iid)
        return await open_stream(
            request, StreamFilter(cid, iid, _issue_type(type)), last_event_id, after
        )
