"""``api.server``: the limits of uvicorn's protocol, driven byte by byte on a fake transport.

The end-to-end tests (``tests/e2e/test_http_limits.py``) send the same requests over real
sockets to both stacks; these pin the exact edges: a head of exactly the limit, one read of
slack for a huge header, a read holding the rest of a head and a large body, trailers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from api.server import LINGER_S, TIMED_OUT, LimitedHttpToolsProtocol, Limits, protocol_class


class Transport:
    """Just enough of an asyncio transport: what was written, whether it was closed."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        assert not self.closed, f"written after close: {data!r}"
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def can_write_eof(self) -> bool:
        return False  # closed at once after an answer (``LingeringTransport`` can half-close)


class App:
    """Answers ``200 ok`` after reading the whole body (``early``: at once, body unread);
    remembers each request's scope and the last event ``receive`` gave."""

    def __init__(self, *, early: bool = False) -> None:
        self.early = early
        self.scopes: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.last_event: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        self.scopes.append(scope)
        body = b""
        while not self.early:
            event = await receive()
            self.last_event = event
            if event["type"] == "http.disconnect":
                return
            body += event["body"]
            if not event["more_body"]:
                break
        self.bodies.append(body)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    settle(loop)  # a request refused mid-way sees its disconnect and ends
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending))
    loop.close()


def connect(
    loop: asyncio.AbstractEventLoop,
    app: App | None = None,
    state: ServerState | None = None,
    **limits: Any,
) -> tuple[LimitedHttpToolsProtocol, Transport]:
    config = Config(app=app or App(), lifespan="off", timeout_keep_alive=75)
    config.load()
    cls = protocol_class(Limits(**limits))
    protocol = cls(config, state or ServerState(), {}, _loop=loop)
    transport = Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def settle(loop: asyncio.AbstractEventLoop, seconds: float = 0.0) -> None:
    """Run the loop a little: the app's tasks, and timers due within ``seconds``."""
    loop.run_until_complete(asyncio.sleep(seconds))
    for _ in range(5):
        loop.run_until_complete(asyncio.sleep(0))


def answers(written: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Every whole answer in ``written``: status, headers, body (by Content-Length)."""
    found = []
    while written:
        head, _, rest = written.partition(b"\r\n\r\n")
        status_line, *lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        found.append((int(status_line.split()[1]), headers, rest[:length]))
        written = rest[length:]
    return found


def refusal(transport: Transport, status: int, code: str) -> dict[str, Any]:
    """The one problem+json answer written, of ``status`` and ``code``; the connection closed."""
    assert transport.closed
    [(got, headers, body)] = answers(transport.written)
    assert got == status
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert problem["code"] == code
    return problem


HEAD_OF_HEALTH = b"GET /health HTTP/1.1\r\nHost: agentq\r\n\r\n"


def head_of(size: int, *, header_bytes: int | None = None) -> bytes:
    """A GET head of exactly ``size`` bytes: the padding in one header, or (``header_bytes``)
    in headers of that many bytes each, and the rest in a last one."""
    start = b"GET /health HTTP/1.1\r\nHost: agentq\r\n"
    room = size - len(start) - 2
    headers = b""
    if header_bytes is not None:
        i = 0
        while room - len(headers) > 2 * header_bytes:
            line = b"x-%d: " % i
            headers += line + b"a" * (header_bytes - len(line) - 2) + b"\r\n"
            i += 1
    left = room - len(headers) - len(b"x-pad: \r\n")
    head = start + headers + b"x-pad: " + b"a" * left + b"\r\n\r\n"
    assert len(head) == size
    return head


@pytest.mark.parametrize("header_bytes", [None, 100])
def test_a_head_of_exactly_the_limit_is_served_and_one_byte_more_is_431(
    loop: asyncio.AbstractEventLoop, header_bytes: int | None
) -> None:
    protocol, transport = connect(loop, max_header_bytes=4096)
    protocol.data_received(head_of(4096, header_bytes=header_bytes))
    settle(loop)
    assert [status for status, _, _ in answers(transport.written)] == [200]

    protocol, transport = connect(loop, max_header_bytes=4096)
    protocol.data_received(head_of(4097, header_bytes=header_bytes))
    problem = refusal(transport, 431, "headers_too_large")
    assert problem["title"] == "Request headers too large"
    assert "longer than 4096 bytes" in problem["detail"]


def test_a_request_line_of_exactly_the_limit_is_served_and_one_byte_more_is_414(
    loop: asyncio.AbstractEventLoop,
) -> None:
    def line(size: int) -> bytes:
        start, end = b"GET /health?q=", b" HTTP/1.1"
        return start + b"a" * (size - len(start) - len(end)) + end + b"\r\n\r\n"

    protocol, transport = connect(loop, max_request_line_bytes=1024)
    protocol.data_received(line(1024))
    settle(loop)
    assert [status for status, _, _ in answers(transport.written)] == [200]

    protocol, transport = connect(loop, max_request_line_bytes=1024)
    protocol.data_received(line(1025))
    problem = refusal(transport, 414, "uri_too_long")
    assert problem["detail"] == "the request line is longer than 1024 bytes"


def test_a_huge_header_is_refused_within_one_read_of_the_limit_and_nothing_more_is_parsed(
    loop: asyncio.AbstractEventLoop,
) -> None:
    protocol, transport = connect(loop, max_header_bytes=4096)
    protocol.data_received(b"GET /health HTTP/1.1\r\nx-big: ")
    reads = 0
    while not transport.closed:
        protocol.data_received(b"a" * 1000)
        reads += 1
        assert reads < 10
    assert reads == 5  # 5000 bytes of one header: the 5th read passes 4096
    refusal(transport, 431, "headers_too_large")
    protocol.data_received(b"a" * 1000 + b"\r\n\r\n")  # ignored: no second answer
    assert len(answers(transport.written)) == 1


def test_a_read_with_the_end_of_a_head_and_a_large_body_is_not_counted_as_head(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """The head's last part may come with much of the body: only head bytes count."""
    app = App()
    protocol, transport = connect(loop, app, max_header_bytes=4096)
    body = b"b" * 200_000
    protocol.data_received(b"POST /health HTTP/1.1\r\nHost: a")
    protocol.data_received(b"gentq\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
    settle(loop)
    assert [status for status, _, _ in answers(transport.written)] == [200]
    assert app.bodies == [body]


def test_a_body_tail_and_the_next_head_in_one_read_are_served(
    loop: asyncio.AbstractEventLoop,
) -> None:
    app = App()
    protocol, transport = connect(loop, app, max_header_bytes=4096)
    protocol.data_received(b"POST /a HTTP/1.1\r\ncontent-length: 10000\r\n\r\n" + b"b" * 5000)
    settle(loop)
    protocol.data_received(b"b" * 5000 + b"GET /b HTTP/1.1\r\nhost: agentq\r\n\r\n")
    settle(loop)
    assert [status for status, _, _ in answers(transport.written)] == [200, 200]
    assert [len(b) for b in app.bodies] == [10000, 0]


def test_trailers_count_with_the_head(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connect(loop, max_header_bytes=4096)
    protocol.data_received(
        b"POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
    )
    protocol.data_received(b"x-trailer: ")
    for _ in range(5):
        protocol.data_received(b"a" * 1000)
    problem = refusal(transport, 431, "headers_too_large")
    assert "trailers" in problem["detail"]


def test_a_head_not_finished_in_time_is_408(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connect(loop, header_timeout_s=0.05)
    protocol.data_received(b"GET /health HTTP/1.1\r\nHost: a")
    settle(loop, 0.1)
    problem = refusal(transport, 408, "request_timeout")
    assert problem["detail"] == "the request line and headers did not arrive within 0.05 s"


def test_an_idle_new_connection_is_closed_without_an_answer(
    loop: asyncio.AbstractEventLoop,
) -> None:
    protocol, transport = connect(loop, header_timeout_s=0.05)
    protocol.data_received(b"\r\n")  # no request begins
    settle(loop, 0.1)
    assert transport.closed
    assert transport.written == b""


def test_an_idle_keep_alive_connection_is_left_to_the_keep_alive_timeout(
    loop: asyncio.AbstractEventLoop,
) -> None:
    protocol, transport = connect(loop, header_timeout_s=0.05)
    protocol.data_received(b"GET /health HTTP/1.1\r\nHost: agentq\r\n\r\n")
    settle(loop, 0.15)
    protocol.data_received(b"\r\n")  # stray bytes do not cancel the keep-alive timer
    settle(loop, 0.15)
    assert not transport.closed
    assert protocol.timeout_keep_alive_task is not None
    protocol.data_received(b"GET /health HTTP/1.1\r\nHost: agentq\r\n\r\n")
    settle(loop)
    assert [status for status, _, _ in answers(transport.written)] == [200, 200]


def test_a_short_body_is_408_and_the_app_sees_a_timed_out_disconnect(
    loop: asyncio.AbstractEventLoop,
) -> None:
    app = App()
    protocol, transport = connect(loop, app, body_timeout_s=0.05)
    protocol.data_received(b"POST /a HTTP/1.1\r\ncontent-length: 100\r\n\r\n{")
    settle(loop, 0.1)
    problem = refusal(transport, 408, "request_timeout")
    assert problem["detail"] == "the request body did not arrive within 0.05 s of its headers"
    assert app.last_event == {"type": "http.disconnect"}
    assert app.scopes[0]["state"][TIMED_OUT] is True
    protocol.connection_lost(None)


def test_a_short_body_already_answered_is_closed_without_a_second_answer(
    loop: asyncio.AbstractEventLoop,
) -> None:
    app = App(early=True)
    protocol, transport = connect(loop, app, body_timeout_s=0.05)
    protocol.data_received(b"POST /a HTTP/1.1\r\ncontent-length: 100\r\n\r\n{")
    settle(loop, 0.1)
    assert transport.closed
    assert [status for status, _, _ in answers(transport.written)] == [200]


def test_a_body_the_app_is_slow_to_read_is_not_timed_out(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Reading paused by the server (the app has not taken what came) is not the client's
    delay; once the app reads again, the client's time runs."""
    reading = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await reading.wait()
        while (await receive())["type"] != "http.disconnect":
            pass

    protocol, transport = connect(loop, slow, body_timeout_s=0.05)  # type: ignore[arg-type]
    protocol.data_received(b"POST /a HTTP/1.1\r\ncontent-length: 70000\r\n\r\n")
    protocol.data_received(b"b" * 69_999)  # past uvicorn's 64 KiB unread: reading paused
    assert not transport.reading
    settle(loop, 0.15)
    assert not transport.closed
    reading.set()
    settle(loop, 0.15)
    refusal(transport, 408, "request_timeout")


def test_a_body_not_asked_for_yet_is_not_timed_out(loop: asyncio.AbstractEventLoop) -> None:
    """``Expect: 100-continue``: the client waits for the server's go-ahead, which uvicorn
    sends when the app first reads; the body's time runs from then."""
    reading = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await reading.wait()
        while (await receive())["type"] != "http.disconnect":
            pass

    protocol, transport = connect(loop, slow, body_timeout_s=0.05)  # type: ignore[arg-type]
    protocol.data_received(
        b"POST /a HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 10\r\n\r\n"
    )
    settle(loop, 0.15)
    assert not transport.closed
    reading.set()
    settle(loop, 0.15)
    go_ahead = b"HTTP/1.1 100 Continue\r\n\r\n"
    assert transport.written.startswith(go_ahead)
    transport.written = transport.written.removeprefix(go_ahead)
    refusal(transport, 408, "request_timeout")


def test_past_max_connections_a_connection_gets_503_with_retry_after(
    loop: asyncio.AbstractEventLoop,
) -> None:
    state = ServerState()
    _, first_transport = connect(loop, state=state, max_connections=1)
    __, second = connect(loop, state=state, max_connections=1)
    assert not first_transport.closed
    refusal(second, 503, "unavailable")
    assert answers(second.written)[0][1]["retry-after"] == "1"


def test_a_request_that_is_not_http_gets_a_problem_400(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connect(loop)
    protocol.data_received(b"GET / HTTP/1.1\nHost: a\n\n")
    problem = refusal(transport, 400, "bad_request")
    assert problem["detail"].startswith("the request is not valid HTTP/1.1")


def test_a_path_that_is_not_ascii_gets_a_problem_400(loop: asyncio.AbstractEventLoop) -> None:
    """uvicorn's own callback fails (it decodes the path as ASCII): answered all the same."""
    protocol, transport = connect(loop)
    protocol.data_received(HEAD_OF_HEALTH)
    settle(loop)
    protocol.data_received(b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n")
    settle(loop)
    assert transport.closed
    assert [status for status, _, _ in answers(transport.written)] == [200, 400]


class LingeringTransport(Transport):
    """A transport that can shut its sending side, as a TCP one can."""

    def __init__(self) -> None:
        super().__init__()
        self.eof = False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True


def test_a_refused_client_still_sending_is_read_and_dropped_before_the_close(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """nginx's lingering close: the answer, then the sending side shut, then what still
    comes read and dropped until the close, so the client gets no reset before the answer."""
    config = Config(app=App(), lifespan="off", timeout_keep_alive=75)
    config.load()
    protocol = protocol_class(Limits(max_header_bytes=4096))(config, ServerState(), {}, _loop=loop)
    transport = LingeringTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(b"GET / HTTP/1.1\r\nX-Big: ")
    protocol.data_received(b"a" * 5000)
    [(status, _, _)] = answers(transport.written)
    assert status == 431 and transport.eof and not transport.closed
    assert transport.reading
    protocol.data_received(b"a" * 100_000)  # dropped
    assert len(answers(transport.written)) == 1
    settle(loop, LINGER_S + 0.1)
    assert transport.closed
