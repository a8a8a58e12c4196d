"""A stand-in for pika's ``AsyncioConnection`` and its channel, driven by the test: it opens
(unless held), records what is declared and published, and the test sends the confirms,
returns and closes RabbitMQ would."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pika
import pika.exceptions
import pika.spec


@dataclass
class Published:
    exchange: str
    routing_key: str
    body: bytes
    properties: pika.BasicProperties
    mandatory: bool


class FakeChannel:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.published: list[Published] = []
        self.declared: list[tuple[str, bool, dict[str, Any]]] = []
        self.open = True
        self.on_close: Any = None
        self.on_return: Any = None
        self.on_confirm: Any = None

    # --- what the publisher calls -------------------------------------------------------

    def add_on_close_callback(self, callback: Any) -> None:
        self.on_close = callback

    def add_on_return_callback(self, callback: Any) -> None:
        self.on_return = callback

    def confirm_delivery(self, ack_nack_callback: Any, callback: Any) -> None:
        self.on_confirm = ack_nack_callback
        self.loop.call_soon(callback, None)

    def queue_declare(
        self, queue: str, durable: bool, arguments: dict[str, Any], callback: Any
    ) -> None:
        self._check_open()
        self.declared.append((queue, durable, arguments))
        self.loop.call_soon(callback, None)

    def basic_publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: pika.BasicProperties,
        mandatory: bool,
    ) -> None:
        self._check_open()
        self.published.append(Published(exchange, routing_key, body, properties, mandatory))

    def _check_open(self) -> None:
        if not self.open:
            raise pika.exceptions.ChannelWrongStateError("Channel is closed.")

    # --- what RabbitMQ would do ---------------------------------------------------------

    def ack(self, tag: int, multiple: bool = False) -> None:
        method = pika.spec.Basic.Ack(delivery_tag=tag, multiple=multiple)
        self.on_confirm(SimpleNamespace(method=method))

    def nack(self, tag: int, multiple: bool = False) -> None:
        method = pika.spec.Basic.Nack(delivery_tag=tag, multiple=multiple)
        self.on_confirm(SimpleNamespace(method=method))

    def give_back(self, index: int) -> None:
        """Basic.Return of the ``index``-th message published (0-based)."""
        sent = self.published[index]
        method = pika.spec.Basic.Return(312, "NO_ROUTE", sent.exchange, sent.routing_key)
        self.on_return(self, method, sent.properties, sent.body)

    def close_by_broker(self) -> None:
        self.open = False
        self.on_close(self, pika.exceptions.ChannelClosedByBroker(406, "PRECONDITION_FAILED"))


@dataclass
class FakeConnections:
    """The ``connect`` factory: every connection made, in order. ``hold``: new connections
    stay opening until ``release``."""

    hold: bool = False
    made: list[FakeConnection] = field(default_factory=list)

    def __call__(self, **kwargs: Any) -> FakeConnection:
        connection = FakeConnection(self, **kwargs)
        self.made.append(connection)
        return connection

    @property
    def channel(self) -> FakeChannel:
        """The latest connection's channel."""
        channel = self.made[-1].chan
        assert channel is not None
        return channel


class FakeConnection:
    def __init__(
        self,
        factory: FakeConnections,
        *,
        parameters: Any,
        on_open_callback: Any,
        on_open_error_callback: Any,
        on_close_callback: Any,
        custom_ioloop: asyncio.AbstractEventLoop,
    ) -> None:
        self.parameters = parameters
        self.loop = custom_ioloop
        self.on_open = on_open_callback
        self.on_open_error = on_open_error_callback
        self.on_close = on_close_callback
        self.is_open = self.is_closed = self.is_closing = False
        self.chan: FakeChannel | None = None
        self.terminated: BaseException | None = None
        self.closed_politely = False
        if not factory.hold:
            self.loop.call_soon(self.release)

    def release(self) -> None:
        if not self.is_closed:
            self.is_open = True
            self.on_open(self)

    def channel(self, on_open_callback: Any) -> None:
        self.chan = FakeChannel(self.loop)
        self.loop.call_soon(on_open_callback, self.chan)

    def close(self) -> None:
        self.closed_politely = True
        self.is_closing = True
        self.loop.call_soon(self._closed, pika.exceptions.ConnectionClosedByClient(200, "OK"))

    def _terminate_stream(self, error: BaseException) -> None:
        self.terminated = error
        self.loop.call_soon(self._closed, error)

    def drop(self) -> None:
        """The TCP connection is gone (RabbitMQ closed it, the network failed)."""
        self._closed(pika.exceptions.StreamLostError("Stream connection lost"))

    def _closed(self, error: BaseException) -> None:
        if self.is_closed:
            return
        was_open, self.is_open, self.is_closing, self.is_closed = self.is_open, False, False, True
        if self.chan is not None and self.chan.open:
            self.chan.open = False
            self.chan.on_close(self.chan, error)
        if was_open:
            self.on_close(self, error)
        else:
            self.on_open_error(self, error)
