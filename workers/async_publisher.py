"""The API's publisher: commands go to RabbitMQ from the event loop (pika's asyncio adapter),
many in flight on one confirm-mode channel, each answered by its own confirm.

One connection per API process, opened by the first publish and again by the first publish
after it was lost. A publish (connect if need be, declare its queue once per connection,
publish, wait for the confirm) either completes within ``publish_timeout_s`` or raises:

- Basic.Nack: the connection is retired (no new publish goes to it; it closes once what
  is in flight on it is answered) and the message is published again on a new one, up to
  ``NACK_ATTEMPTS`` times, as Dramatiq's own ``enqueue`` does on a nack. A quorum queue's
  channel that first published to it while its leader was being elected (a cluster node
  lost) kept nacking every message to that queue long after a new leader was up (RabbitMQ
  3.10, tests/soak/): a fresh connection publishes to the new leader at once;
- Basic.Return (``mandatory``: no queue took the message): that publish fails;
- the channel or the connection closes: every publish in flight on it fails at once
  (``ChannelLost``), the next publish opens a new connection, to the next node of a
  ``;``-separated URL list; a node that cannot be reached is passed over at once for the
  next (each tried once per publish);
- the time is up: the connection is torn down (so nothing of the publish goes on after its
  caller gave up), which fails every other publish in flight on it too. A publish that was
  still waiting for the connection to open gives up without publishing anything.

A failed publish may or may not have been queued (its confirm was lost, not refused): the
API answers 503 and the caller retries with its ``Idempotency-Key``; the worker stores
outcomes by command id, so a command queued twice is applied once.

The message is Dramatiq's (its ``Message``, encoder, queue names, properties and queue
arguments come from the broker), so the commands pool consumes it as any other. The
processes that publish from threads (workers, the scheduler, bulks) keep the broker's
blocking publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

import pika
import pika.spec
from dramatiq.broker import Broker
from dramatiq.common import q_name
from dramatiq.message import Message
from pika.adapters.asyncio_connection import AsyncioConnection

from workers.broker import AgentqRabbitmqBroker, PublishTimeout
from workers.confirms import ChannelLost, Confirms, Nacked

__all__ = ["AsyncPublisher", "InlinePublisher", "MessagePublisher", "make_publisher"]

log = logging.getLogger("agentq.publisher")

#: How many times a publish is sent, on a new connection each time, while RabbitMQ nacks it
#: (within the publish's own time limit).
NACK_ATTEMPTS = 3
#: Pause before a nacked message is published again, times the attempts so far, in seconds
#: (a quorum queue's election takes a few hundred milliseconds).
NACK_PAUSE_S = 0.1


class CoalescingConnection(AsyncioConnection):  # type: ignore[misc]
    """pika's asyncio connection, writing what one turn of the event loop sends with one
    ``send``: pika writes each frame with a ``send`` of its own, three per message (method,
    header, body), so publishes in flight together cost a system call per frame on both
    ends. The order of the bytes is pika's."""

    def __init__(self, *, custom_ioloop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        self._loop_ = custom_ioloop
        self._out: list[bytes] = []
        super().__init__(custom_ioloop=custom_ioloop, **kwargs)

    def _adapter_emit_data(self, data: bytes) -> None:
        if not self._out:
            self._loop_.call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        data, self._out = b"".join(self._out), []
        if data and self._transport is not None:  # None: the stream is gone (nothing to send on)
            super()._adapter_emit_data(data)


class MessagePublisher(Protocol):
    async def publish(self, message: Message[Any], *, deadline: float | None = None) -> None:
        """Publish ``message``; raise if it is not confirmed by ``deadline`` (the loop's
        clock; default: ``publish_timeout_s`` from now) or is refused."""

    async def close(self) -> None: ...


class InlinePublisher:
    """The embedded mode: Dramatiq's in-process broker, whose enqueue never blocks."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def publish(self, message: Message[Any], *, deadline: float | None = None) -> None:
        self.broker.enqueue(message)

    async def close(self) -> None:
        return None


def make_publisher(broker: Broker) -> MessagePublisher:
    if isinstance(broker, AgentqRabbitmqBroker):
        return AsyncPublisher(broker)
    return InlinePublisher(broker)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
        future.exception()  # retrieved: a waiter that gave up is no error to log


class _Link:
    """One connection, its confirm-mode channel, and what is in flight on it."""

    def __init__(
        self,
        broker: AgentqRabbitmqBroker,
        loop: asyncio.AbstractEventLoop,
        connect: Callable[..., Any],
        parameters: pika.connection.Parameters,
    ) -> None:
        self.broker = broker
        self.loop = loop
        #: Resolved once the channel is in confirm mode.
        self.ready: asyncio.Future[None] = loop.create_future()
        #: Resolved once the connection is closed (by either side).
        self.finished: asyncio.Future[None] = loop.create_future()
        self.confirms = Confirms(loop)
        #: Canonical queue name -> its declaration on this connection.
        self.queues: dict[str, asyncio.Future[None]] = {}
        self.channel: Any = None
        self.closed = False
        #: The publisher closes it (at shutdown, or retired): nothing to warn about.
        self.closing = False
        #: Retired after a nack: no new publish goes to it; it closes once idle.
        self.retired = False
        #: The connection could not be opened (the node is down, or refused us).
        self.unreachable = False
        self.connection: Any = connect(
            parameters=parameters,
            on_open_callback=self._on_open,
            on_open_error_callback=self._on_open_error,
            on_close_callback=self._on_closed,
            custom_ioloop=loop,
        )

    # --- pika's callbacks (on the loop) -------------------------------------------------

    def _on_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirming)

    def _on_confirming(self, _frame: Any) -> None:
        if not self.ready.done():
            self.ready.set_result(None)

    def _on_open_error(self, _connection: Any, error: BaseException) -> None:
        self.unreachable = True
        self._lose(ChannelLost(f"could not connect to RabbitMQ: {error!r}"))
        self._finish()

    def _on_closed(self, _connection: Any, error: BaseException) -> None:
        self._lose(error)
        self._finish()

    def _on_channel_closed(self, _channel: Any, error: BaseException) -> None:
        # RabbitMQ closes a channel over an error of ours (a queue declared with other
        # arguments): the connection goes too, and the next publish starts afresh.
        self._lose(error)
        with contextlib.suppress(Exception):
            if self.connection.is_open:
                self.connection.close()

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if isinstance(method, pika.spec.Basic.Ack):
            self.confirms.acked(method.delivery_tag, method.multiple)
        else:
            self.confirms.nacked(method.delivery_tag, method.multiple)
        if self.retired:
            self._close_if_idle()

    def _on_return(self, _channel: Any, method: Any, _properties: Any, body: bytes) -> None:
        try:
            message_id = Message.decode(body).message_id
        except Exception:  # not one of ours; nothing waits for it
            log.warning("a message came back unrouted and could not be read")
            return
        # As Dramatiq does: the queue is gone, declare it again before the next publish.
        self.queues.pop(q_name(method.routing_key), None)
        self.confirms.returned(
            message_id,
            f"no queue took the message (routing key {method.routing_key!r}: "
            f"{method.reply_code} {method.reply_text})",
        )

    # --- what a publish does on the link ------------------------------------------------

    def _lose(self, reason: BaseException) -> None:
        """The link is done: everything waiting on it fails now."""
        if self.closed:
            return
        self.closed = True
        if self.ready.done() and not self.ready.exception() and not self.closing:
            log.warning(
                "the publishing connection to the broker ended: %r; %d publishes in flight failed",
                reason,
                len(self.confirms),
                extra={"action": "publisher_connection_lost", "in_flight": len(self.confirms)},
            )
        error = reason if isinstance(reason, ChannelLost) else ChannelLost(repr(reason))
        _fail(self.ready, error)
        for declared in self.queues.values():
            _fail(declared, error)
        self.confirms.lost(reason)

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    def retire(self) -> None:
        """A nack came on this connection: new publishes go to a new one, and this one
        closes once the publishes in flight on it are answered (none of them is failed)."""
        if not self.retired:
            self.retired = True
            log.info(
                "a publish was nacked; publishing on a new connection to the broker",
                extra={"action": "publisher_nacked", "in_flight": len(self.confirms)},
            )
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        if len(self.confirms) == 0 and not self.closed:
            self.closing = True
            self._lose(ChannelLost("retired after a nack"))
            with contextlib.suppress(Exception):
                if not (self.connection.is_closed or self.connection.is_closing):
                    self.connection.close()

    def drop(self, reason: BaseException) -> None:
        """Tear the connection down without a word to RabbitMQ (it may not be listening):
        fail what is in flight, and let nothing of it go on."""
        self._lose(reason)
        with contextlib.suppress(Exception):
            if not self.connection.is_closed:
                self.connection._terminate_stream(reason)

    async def declared(self, queue_name: str) -> None:
        """``queue_name``'s queues exist (declared once per connection, as Dramatiq does)."""
        canonical = q_name(queue_name)
        declared = self.queues.get(canonical)
        if declared is None:
            declared = self.queues[canonical] = self.loop.create_future()
            declarations = self.broker.queue_declarations(canonical)
            answered = [0]

            def on_declare_ok(_frame: Any) -> None:
                answered[0] += 1
                if answered[0] == len(declarations) and not declared.done():
                    declared.set_result(None)

            try:
                for name, arguments in declarations:
                    self.channel.queue_declare(
                        queue=name, durable=True, arguments=arguments, callback=on_declare_ok
                    )
            except Exception as error:  # the channel closed under us
                self._lose(error)
        if not declared.done():
            await asyncio.shield(declared)
        declared.result()

    async def send(self, message: Message[Any]) -> None:
        """Publish ``message`` and wait for its confirm."""
        if self.closed:
            raise ChannelLost("the connection closed")
        self.broker.emit_before("enqueue", message, None)
        try:
            self.channel.basic_publish(
                exchange="",
                routing_key=message.queue_name,
                body=message.encode(),
                properties=self.broker.message_properties(message),
                mandatory=True,
            )
        except Exception as error:  # the channel closed under us
            self._lose(error)
            raise ChannelLost(repr(error)) from error
        await self.confirms.sent(message.message_id)
        self.broker.emit_after("enqueue", message, None)

    async def close(self, timeout_s: float) -> None:
        """Close the connection politely; tear it down if RabbitMQ does not answer in time."""
        self.closing = True
        self._lose(ChannelLost("the publisher closed"))
        with contextlib.suppress(Exception):
            if not (self.connection.is_closed or self.connection.is_closing):
                self.connection.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.finished), timeout_s)
        except TimeoutError:
            self.drop(ChannelLost("RabbitMQ did not answer the close"))


class AsyncPublisher:
    """Publishes Dramatiq messages with confirms on the running event loop."""

    def __init__(
        self, broker: AgentqRabbitmqBroker, *, connect: Callable[..., Any] = CoalescingConnection
    ) -> None:
        """``connect``: makes a connection as pika's ``AsyncioConnection`` (tests fake it)."""
        self.broker = broker
        self.timeout_s = broker.publish_timeout_s
        self._connect = connect
        self._parameters = broker.parameter_list()
        self._opened = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._link: _Link | None = None

    @property
    def link(self) -> _Link | None:
        """The current connection (tests look at it)."""
        return self._link

    async def publish(self, message: Message[Any], *, deadline: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        limit = asyncio.timeout_at(loop.time() + self.timeout_s if deadline is None else deadline)
        link: _Link | None = None
        try:
            async with limit:
                for attempt in range(1, NACK_ATTEMPTS + 1):
                    link = await self._ready(loop)
                    await link.declared(message.queue_name)
                    try:
                        await link.send(message)
                        return
                    except Nacked:
                        link.retire()
                        if attempt == NACK_ATTEMPTS:
                            raise
                        link = None  # a time-out from here on is the next link's
                    await asyncio.sleep(NACK_PAUSE_S * attempt)
        except TimeoutError:
            if not limit.expired():
                raise
            timeout = PublishTimeout(f"not published and confirmed within {self.timeout_s} s")
            if link is not None and link.ready.done():
                # Something of it reached the connection: tear that down, so nothing of
                # this publish goes on after its caller has given up. A connection still
                # opening is left to open (within ``publish_timeout_s`` of its own): this
                # publish never reached it.
                link.drop(timeout)
            raise timeout from None

    async def _ready(self, loop: asyncio.AbstractEventLoop) -> _Link:
        """The current link once open; a node that cannot be reached is passed over for the
        next of the list (each tried once), so a cluster node down costs no publish."""
        for tried in range(1, len(self._parameters) + 1):
            link = self._current(loop)
            try:
                await asyncio.shield(link.ready)
            except ChannelLost:
                if not link.unreachable or tried == len(self._parameters):
                    raise
                continue
            return link
        raise AssertionError("unreachable: the last node's failure is raised")

    def _current(self, loop: asyncio.AbstractEventLoop) -> _Link:
        """The open (or opening) link; a new one if there is none or it was lost."""
        if self._loop is not loop:
            # Another event loop (an app started again in one process): the old link's
            # callbacks belong to the old loop; start afresh.
            self._loop, self._link = loop, None
        link = self._link
        if link is None or link.closed or link.retired:
            parameters = self._parameters[self._opened % len(self._parameters)]
            self._opened += 1
            link = self._link = _Link(self.broker, loop, self._connect, parameters)
        return link

    async def close(self) -> None:
        link, self._link = self._link, None
        if link is not None and self._loop is asyncio.get_running_loop():
            await link.close(self.timeout_s)
