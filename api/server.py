"""The HTTP server: uvicorn with agentq's limits.

uvicorn's httptools protocol takes any amount of request line and headers, and waits for
them and for a body forever. ``LimitedHttpToolsProtocol`` adds what a server facing the
internet needs (``service.settings`` has the values)::

    request line longer than max_request_line_bytes          414
    request head (line and headers) over max_header_bytes    431 (chunked trailers too)
    head not in within header_timeout_s of its first byte    408 (an idle new connection
                                                             that never sends one: closed)
    body not in within body_timeout_s of its head            408
    a connection past max_connections                        503, Retry-After: 1

Each answer is problem+json written by the protocol itself, then the connection is closed:
the parser is fed nothing more and a running request sees a disconnect (after a body
timeout its ``scope["state"][TIMED_OUT]`` is true, so the app records 408, not 499). A
connection holds at most the head limit plus one read of unparsed head in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import httptools
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from api.streams import StreamHooks
from service.problems import problem
from service.settings import Settings

__all__ = ["TIMED_OUT", "LimitedHttpToolsProtocol", "Limits", "protocol_class", "serve"]

#: Set in a request's ``scope["state"]`` when the server timed its body out (and answered
#: 408 itself, if the app had not answered yet).
TIMED_OUT = "agentq.request_timeout"

log = logging.getLogger("agentq.http")

#: How long a refused connection is still read (and what comes dropped) after its answer,
#: in seconds, before it is closed.
LINGER_S = 2.0

#: ``HTTP/1.1`` and the space before it, which every request line has after its target.
_VERSION_BYTES = len(" HTTP/1.1")


def _default(name: str) -> Any:
    """A setting's default: the limits are defined once, in ``service.settings``."""
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class Limits:
    """What one connection may take (``AGENTQ_HEADER_TIMEOUT_S`` and friends)."""

    header_timeout_s: float = _default("header_timeout_s")
    body_timeout_s: float = _default("body_timeout_s")
    max_request_line_bytes: int = _default("max_request_line_bytes")
    max_header_bytes: int = _default("max_header_bytes")
    max_connections: int = _default("max_connections")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_request_line_bytes=settings.max_request_line_bytes,
            max_header_bytes=settings.max_header_bytes,
            max_connections=settings.max_connections,
        )


class _Refused(Exception):
    """Raised from a parser callback to stop the parser (httptools re-raises it as an
    ``HttpParserCallbackError``); the answer is in ``_refusal``."""


class LimitedHttpToolsProtocol(StreamHooks):
    """uvicorn's httptools protocol with ``limits`` (a subclass from ``protocol_class`` sets
    them: uvicorn builds each connection's protocol from the class alone), and the event
    streams' hooks (``api.streams``)."""

    limits = Limits()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        #: Between a message's first byte and the end of its headers ...
        self._in_head = False
        #: ... and between its headers and its end.
        self._in_body = False
        #: Bytes of the current head (and trailers) parsed so far, exactly ...
        self._head_size = 0
        #: ... and read since the last header the parser gave (one long header grows in it).
        self._unparsed = 0
        #: Headers and trailers parsed, chunk size lines parsed (a read that adds to neither
        #: was all inside one header, or all trailers).
        self._headers_seen = 0
        self._chunk_headers = 0
        #: After a chunk's size line and before its data: in the trailers if no data comes.
        self._after_chunk_header = False
        self._refusal: tuple[str, str] | None = None
        self._refused = False
        self._upgrade_warned = False

    # Connection

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        limit = self.limits.max_connections
        if len(self.connections) > limit:
            detail = f"the server has {limit} open connections, its limit; retry shortly"
            self._refuse("unavailable", detail, own=None, headers=[(b"retry-after", b"1")])
            return
        # An idle new connection is closed after the header timeout too.
        self._header_timer = self._arm(self.limits.header_timeout_s, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused or self.parser is None:
            return  # answered: nothing more is parsed
        # uvicorn cancels its keep-alive timer on any byte; here only a request's first byte
        # does (``on_message_begin``): stray bytes between requests keep no connection open.
        in_header = self._in_head or (self._in_body and self._after_chunk_header)
        seen = (self._headers_seen, self._chunk_headers)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():  # a WebSocket: uvicorn's protocol takes over
                self._cancel_timers()
                self.handle_websocket_upgrade()
            elif not self._upgrade_warned:  # once a connection, not once a read
                self._upgrade_warned = True
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            own = self.cycle if self._in_body else None
            if self._refusal is not None:
                self._refuse(*self._refusal, own=own)
            else:
                detail = f"the request is not valid HTTP/1.1: {str(exc)[:200]}"
                self._refuse("bad_request", detail, own=own)
            return
        if self._refused:
            return
        # A read that began and ended inside one header (of the head, or a trailer) without
        # the parser giving any is all header: counted, so a huge header is refused within
        # a read of the limit. (A read in which a header ended may hold the previous
        # request's body, or a header counted exactly: not counted.)
        in_header_now = self._in_head or (self._in_body and self._after_chunk_header)
        if in_header and in_header_now and seen == (self._headers_seen, self._chunk_headers):
            self._unparsed += len(data)
            if self._head_size + self._unparsed > self.limits.max_header_bytes:
                own = self.cycle if self._in_body else None
                self._refuse("headers_too_large", self._head_detail(), own=own)
                return
        # Armed once per read, not per message: a request whose head or body came in this
        # read does without.
        if self._in_head and self._header_timer is None:
            self._header_timer = self._arm(self.limits.header_timeout_s, self._header_timeout)
        if self._in_body and self._body_timer is None:
            self._body_timer = self._arm(self.limits.body_timeout_s, self._body_timeout)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._unset_keepalive_if_required()
        # The head's time starts now (``data_received`` arms the timer after this read).
        self._cancel(self._header_timer)
        self._header_timer = None
        self._in_head, self._in_body, self._after_chunk_header = True, False, False
        self._head_size = self._unparsed = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        limit = self.limits.max_request_line_bytes
        if len(self.parser.get_method()) + 1 + len(self.url) + _VERSION_BYTES > limit:
            self._stop("uri_too_long", f"the request line is longer than {limit} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if not self._head_size:  # the first header: the request line is complete
            self._head_size = self._request_line_size()
        self._head_size += len(name) + 2 + len(value) + 2  # name: value CRLF
        self._headers_seen += 1
        self._unparsed = 0
        if self._head_size > self.limits.max_header_bytes:
            self._stop("headers_too_large", self._head_detail())

    def on_headers_complete(self) -> None:
        self._cancel(self._header_timer)
        self._header_timer = None
        self._head_size = (self._head_size or self._request_line_size()) + 2  # blank line
        if self._head_size > self.limits.max_header_bytes:
            self._stop("headers_too_large", self._head_detail())
        super().on_headers_complete()
        self._in_head, self._in_body, self._unparsed = False, True, 0

    def on_chunk_header(self) -> None:
        self._chunk_headers += 1
        self._after_chunk_header = True
        self._unparsed = 0

    def on_body(self, body: bytes) -> None:
        self._after_chunk_header = False
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = self._after_chunk_header = False
        self._cancel(self._body_timer)
        self._body_timer = None
        super().on_message_complete()

    def _request_line_size(self) -> int:
        """``METHOD target HTTP/1.1`` CRLF."""
        return len(self.parser.get_method()) + 1 + len(self.url) + _VERSION_BYTES + 2

    # Timeouts

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._refused or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the server is not reading (pipelining): not the client
            self._header_timer = self._arm(self.limits.header_timeout_s, self._header_timeout)
            return
        if not self._in_head:
            # A new connection that never sent a request: nothing to answer.
            log.debug("idle connection closed", extra={"action": "connection_idle_closed"})
            self._refused = True
            self.transport.close()
            return
        timeout = self.limits.header_timeout_s
        detail = f"the request line and headers did not arrive within {timeout:g} s"
        self._refuse("request_timeout", detail, own=None)

    def _body_timeout(self) -> None:
        self._body_timer = None
        if self._refused or self.transport.is_closing() or not self._in_body:
            return
        cycle = self.cycle
        # The server is not reading (the app has not taken what came, or a request is
        # pipelined), or has not asked for the body yet (``Expect: 100-continue``).
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            self._body_timer = self._arm(self.limits.body_timeout_s, self._body_timeout)
            return
        if cycle is not None:
            cycle.scope["state"][TIMED_OUT] = True
        timeout = self.limits.body_timeout_s
        detail = f"the request body did not arrive within {timeout:g} s of its headers"
        self._refuse("request_timeout", detail, own=cycle)

    # Answers

    def send_400_response(self, msg: str) -> None:
        self._refuse("bad_request", msg, own=None)

    def _stop(self, code: str, detail: str) -> None:
        """Refuse from inside a parser callback: the parser stops, ``data_received`` answers."""
        self._refusal = (code, detail)
        raise _Refused(detail)

    def _head_detail(self) -> str:
        limit = self.limits.max_header_bytes
        if self._in_body:
            return f"the request's head and trailers are longer than {limit} bytes"
        return f"the request head (request line and headers) is longer than {limit} bytes"

    def _refuse(
        self,
        code: str,
        detail: str,
        *,
        own: RequestResponseCycle | None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Answer ``code`` (when the connection is free for it) and close. ``own``: the
        refused request's cycle when the app has it (after its headers), else None."""
        if self._refused:
            return
        self._refused = True
        self._cancel_timers()
        status, body = problem(code, detail)
        if status == 503:
            log.warning(detail, extra={"action": "connection_refused", "status": status})
        else:
            reason = {"action": "request_refused", "status": status, "reason": code}
            log.info("request refused: %s", detail, extra=reason)
        if own is not None:
            # The answer is to this request: only while the app has not begun its own.
            free = not self.pipeline and not own.response_started
        else:
            # The refused request is not the app's: only once every earlier one is answered.
            free = not self.pipeline and (self.cycle is None or self.cycle.response_complete)
        if free:
            self.transport.write(self._answer(status, body, headers or []))
        # A running request sees a disconnect now, and writes nothing after the answer.
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        self._linger()

    def _linger(self) -> None:
        """Close after the answer, as nginx's lingering close does: a client still sending
        (a huge header, a body) would get a reset that can destroy the answer before it is
        read. So the sending side is shut, what still comes is read and dropped
        (``data_received``), and the connection closes after ``LINGER_S``."""
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def _answer(
        self, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
    ) -> bytes:
        content = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
        lines = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            lines.extend([name, b": ", value, b"\r\n"])
        lines.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: %d\r\n" % len(content),
                b"connection: close\r\n",
                b"\r\n",
                content,
            ]
        )
        return b"".join(lines)

    # Timers

    def _arm(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, callback)

    @staticmethod
    def _cancel(timer: asyncio.TimerHandle | None) -> None:
        if timer is not None:
            timer.cancel()

    def _cancel_timers(self) -> None:
        self._cancel(self._header_timer)
        self._cancel(self._body_timer)
        self._header_timer = self._body_timer = None


def protocol_class(limits: Limits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with ``limits``, for uvicorn's ``http`` option."""
    return cast(
        type[LimitedHttpToolsProtocol],
        type("AgentqHttpProtocol", (LimitedHttpToolsProtocol,), {"limits": limits}),
    )


def serve(app: str, settings: Settings, **options: Any) -> None:
    """``uvicorn.run(app, **options)`` with the HTTP limits of ``settings``."""
    uvicorn.run(app, http=protocol_class(Limits.from_settings(settings)), **options)
