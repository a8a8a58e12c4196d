"""A publish to RabbitMQ that cannot complete ends at ``publish_timeout_s``, its connection
dropped: nothing of it goes on after the caller gave up. The blocking publisher (the pools,
the scheduler) ends in its own thread (pika enforces the limit); the API's, on the event
loop (``workers.async_publisher``).

RabbitMQ is reached through a relay that can go silent (it swallows everything both ways,
as a peer behind a broken network does), so no test blocks the machine's RabbitMQ that
other runs share.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dramatiq
import pika
import pytest
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from tests.procs import ServiceUrls
from workers.async_publisher import AsyncPublisher
from workers.broker import AgentqRabbitmqBroker, PublishTimeout

LIMIT_S = 1.0
#: How late past the limit a publish may raise (a timer's tick, a loaded machine).
SLACK_S = 0.75


class _Relay:
    """A TCP relay to ``target``; while ``silent`` is set it forwards nothing either way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.silent = threading.Event()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                pump = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                self._threads.append(pump)
                pump.start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(0.05)
        while not self._closed.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            if not self.silent.is_set():
                try:
                    dst.sendall(data)
                except OSError:
                    break
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def relay(own_vhost_urls: ServiceUrls) -> Iterator[tuple[_Relay, str]]:
    """A relay to RabbitMQ, and the URL of this test's vhost through it."""
    parts = urlsplit(own_vhost_urls.broker_url)
    relay = _Relay((parts.hostname or "127.0.0.1", parts.port or 5672))
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{relay.port}"
    try:
        yield relay, urlunsplit(parts._replace(netloc=netloc))
    finally:
        relay.close()


def _broker(url: str) -> tuple[AgentqRabbitmqBroker, dramatiq.Actor[Any, Any]]:
    broker = AgentqRabbitmqBroker(url=url, confirm_delivery=True, publish_timeout_s=LIMIT_S)
    actor = dramatiq.actor(broker=broker, actor_name="noop", queue_name="timeouts")(_noop)
    return broker, actor


def _noop() -> None:
    """Never run: the test only publishes."""


def _send_timed(actor: dramatiq.Actor[Any, Any]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as raised:  # which one: asserted by the caller
        actor.send()
    return raised.value, time.monotonic() - started


def test_a_publish_whose_confirm_never_comes_raises_at_the_limit_and_drops_its_connection(
    relay: tuple[_Relay, str],
) -> None:
    gate, url = relay
    broker, actor = _broker(url)
    try:
        actor.send()  # the thread's connection is open, the queue declared
        first = broker.state.connection
        gate.silent.set()
        error, took = _send_timed(actor)
        # At the limit, not at pika's 60 s heartbeat, nor after Dramatiq's 6 retries.
        assert LIMIT_S - 0.05 <= took <= LIMIT_S + SLACK_S
        assert isinstance(error, ConnectionClosed)
        assert isinstance(error.__context__, PublishTimeout)
        # The connection it waited on is closed and forgotten: nothing goes on without us.
        assert first.is_closed
        assert getattr(broker.state, "connection", None) is None
        assert first not in broker.connections

        gate.silent.clear()
        started = time.monotonic()
        actor.send()  # on a new connection, at once
        assert time.monotonic() - started < LIMIT_S
        assert broker.state.connection is not first
        # A publish that completed in time disarms its timer: an idle wait past the limit
        # on the same connection (a later publish) does not tear it down.
        second = broker.state.connection
        second.sleep(LIMIT_S + 0.2)
        actor.send()
        assert broker.state.connection is second and second.is_open
    finally:
        gate.silent.clear()
        broker.close()


def test_connecting_to_a_silent_broker_ends_at_the_limit_too(relay: tuple[_Relay, str]) -> None:
    gate, url = relay
    broker, actor = _broker(url)
    try:
        gate.silent.set()  # the TCP connection opens, the AMQP handshake gets no answer
        error, took = _send_timed(actor)
        assert LIMIT_S - 0.05 <= took <= LIMIT_S + SLACK_S
        assert "Timeout" in type(error).__name__ or isinstance(error, ConnectionClosed)
        assert getattr(broker.state, "connection", None) is None
        gate.silent.clear()
        actor.send()
    finally:
        gate.silent.clear()
        broker.close()


# --- the API's publisher, on the event loop (``workers.async_publisher``) -------------------


def _drained(url: str, queue: str) -> list[Message[Any]]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        taken = []
        while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
            taken.append(Message.decode(got[2]))
        return taken
    finally:
        connection.close()


def _timed_message(n: int) -> Message[Any]:
    return Message(queue_name="timeouts", actor_name="noop", args=(n,), kwargs={}, options={})


def test_an_api_publish_whose_confirm_never_comes_fails_at_the_limit_and_tears_its_connection_down(
    relay: tuple[_Relay, str], own_vhost_urls: ServiceUrls
) -> None:
    gate, url = relay
    broker, _ = _broker(url)

    async def scenario() -> None:
        publisher = AsyncPublisher(broker)
        try:
            await publisher.publish(_timed_message(1))  # connected, the queue declared
            first = publisher.link
            assert first is not None
            gate.silent.set()
            started = time.monotonic()
            with pytest.raises(PublishTimeout):
                await publisher.publish(_timed_message(2))
            took = time.monotonic() - started
            # At the limit, not at pika's 60 s heartbeat.
            assert LIMIT_S - 0.05 <= took <= LIMIT_S + SLACK_S
            # Torn down at once, not closed politely (that would wait for RabbitMQ's answer).
            assert first.closed
            await asyncio.wait_for(asyncio.shield(first.finished), SLACK_S)
            assert first.connection.is_closed

            gate.silent.clear()
            started = time.monotonic()
            await publisher.publish(_timed_message(3))  # on a new connection, at once
            assert time.monotonic() - started < LIMIT_S
            second = publisher.link
            assert second is not first and second is not None
            # A publish that completed in time leaves nothing armed: idle past the limit,
            # the same connection publishes again.
            await asyncio.sleep(LIMIT_S + 0.2)
            await publisher.publish(_timed_message(4))
            assert publisher.link is second and not second.closed
        finally:
            gate.silent.clear()
            await publisher.close()

    asyncio.run(scenario())
    # The one that timed out may or may not have reached the queue (its answer was a 503):
    # the relay swallowed it, so here it did not.
    assert [m.args for m in _drained(own_vhost_urls.broker_url, "timeouts")] == [(1,), (3,), (4,)]


def test_an_api_publish_meeting_a_silent_broker_while_connecting_fails_at_the_limit_unpublished(
    relay: tuple[_Relay, str], own_vhost_urls: ServiceUrls
) -> None:
    gate, url = relay
    broker, _ = _broker(url)

    async def scenario() -> None:
        publisher = AsyncPublisher(broker)
        try:
            gate.silent.set()  # the TCP connection opens, the AMQP handshake gets no answer
            started = time.monotonic()
            with pytest.raises(PublishTimeout):
                await publisher.publish(_timed_message(1))
            assert LIMIT_S - 0.05 <= time.monotonic() - started <= LIMIT_S + SLACK_S
            gate.silent.clear()
            # The connection attempt ends by its own limit (the same ``publish_timeout_s``);
            # the next publish opens another, and only it is published.
            await asyncio.sleep(SLACK_S)
            await publisher.publish(_timed_message(2))
        finally:
            gate.silent.clear()
            await publisher.close()

    asyncio.run(scenario())
    assert [m.args for m in _drained(own_vhost_urls.broker_url, "timeouts")] == [(2,)]
