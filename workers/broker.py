"""The Dramatiq broker: RabbitMQ (publisher confirms, durable) or, embedded, the in-process stub;
and the Dramatiq worker every pool runs on it."""

from __future__ import annotations

import copy
import time
from typing import Any

import pika
import pika.exceptions
from dramatiq import Worker
from dramatiq.broker import Broker
from dramatiq.brokers.rabbitmq import DEAD_MESSAGE_TTL, RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name, q_name, xq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from service.settings import Settings
from workers.command_consumer import BatchingRabbitmqConsumer

__all__ = [
    "COMMAND_QUEUE_PREFIX",
    "AgentqRabbitmqBroker",
    "PoolWorker",
    "PublishTimeout",
    "make_broker",
]

COMMAND_QUEUE_PREFIX = "commands."


class PublishTimeout(pika.exceptions.AMQPConnectionError):  # type: ignore[misc]
    """A publish, its confirm included, did not complete within ``publish_timeout_s``; its
    connection was torn down (the next publish opens a new one)."""


class AgentqRabbitmqBroker(RabbitmqBroker):
    """RabbitMQ with single-active-consumer on the command shards, optionally quorum queues
    (replicated across a RabbitMQ cluster), and publishes bounded in time.

    A shard must be consumed by one process at a time (serial per issue): even if two
    processes subscribe to it, only one receives its messages.

    A publish (``enqueue``: connect if need be, publish, wait for the confirm) raises
    ``dramatiq.errors.ConnectionClosed`` in the publishing thread once ``publish_timeout_s``
    has passed, and the connection it was waiting on is gone: nothing of it goes on in the
    background. pika enforces the limit inside its blocking calls:

    - connecting: ``socket_timeout`` and ``stack_timeout`` (TCP, then the AMQP handshake);
    - a connection RabbitMQ blocks (a memory or disk alarm): ``blocked_connection_timeout``;
    - anything else (a confirm that never comes, a peer gone silent): a timer on the
      connection's own I/O loop, which tears the connection down as pika's blocked timeout
      does, so the wait in ``basic_publish`` ends with ``PublishTimeout``.

    Dramatiq retries a failed publish on a new connection up to 6 times; past the deadline
    it does not (a retry would make the wait up to 6 times the limit).
    """

    def __init__(
        self, *, quorum: bool = False, publish_timeout_s: float = 5.0, **kwargs: Any
    ) -> None:
        self.quorum = quorum
        self.publish_timeout_s = publish_timeout_s
        super().__init__(**kwargs)
        for params in self._parameter_list():
            params.socket_timeout = publish_timeout_s
            params.stack_timeout = publish_timeout_s
            params.blocked_connection_timeout = publish_timeout_s

    @property
    def consumer_class(self) -> type[BatchingRabbitmqConsumer]:
        """Dramatiq's consumer, able to take the messages already received and ack them at
        once (``workers.command_consumer``)."""
        return BatchingRabbitmqConsumer

    def _parameter_list(self) -> list[pika.connection.Parameters]:
        params = self.parameters
        return list(params) if isinstance(params, list) else [params]

    def parameter_list(self) -> list[pika.connection.Parameters]:
        """Where RabbitMQ is (one entry per node of a list), its time limits set to
        ``publish_timeout_s``: for a publisher with a connection of its own."""
        return [copy.copy(p) for p in self._parameter_list()]

    # --- what Dramatiq declares and publishes, for a publisher on another connection -------
    # (``workers.async_publisher``; a unit test holds these equal to Dramatiq's own calls)

    def queue_declarations(self, queue_name: str) -> list[tuple[str, dict[str, Any]]]:
        """The queues Dramatiq declares before it publishes to ``queue_name``, with their
        arguments: the queue, its delay queue and its dead letters."""
        canonical = q_name(queue_name)
        arguments = self._build_queue_arguments(canonical)
        return [
            (canonical, arguments),
            (dq_name(canonical), arguments),
            (xq_name(canonical), self._xq_arguments()),
        ]

    @staticmethod
    def message_properties(message: Message[Any]) -> pika.BasicProperties:
        """The properties Dramatiq publishes ``message`` with (persistent)."""
        return pika.BasicProperties(
            delivery_mode=2, priority=message.options.get("broker_priority")
        )

    def _xq_arguments(self) -> dict[str, Any]:
        """The dead-letter queue's arguments: Dramatiq's TTL, and quorum like the others.
        Dramatiq declares it classic, on the node its declarer is connected to; each publish
        and each consumer declares a queue's dead letters too, so with that one node gone its
        queue could not be published to or consumed ("home node ... of durable queue
        'commands.2.XQ' ... is down"), quorum or not (tests/soak/)."""
        arguments: dict[str, Any] = {"x-message-ttl": DEAD_MESSAGE_TTL}
        if self.quorum:
            arguments["x-queue-type"] = "quorum"  # RabbitMQ 3.10+: quorum queues honour a TTL
        return arguments

    def _declare_xq_queue(self, queue_name: str) -> Any:
        return self.channel.queue_declare(
            queue=xq_name(queue_name), durable=True, arguments=self._xq_arguments()
        )

    def _build_queue_arguments(self, queue_name: str) -> dict[str, Any]:
        arguments: dict[str, Any] = super()._build_queue_arguments(queue_name)  # type: ignore[no-untyped-call]
        if queue_name.startswith(COMMAND_QUEUE_PREFIX):
            arguments["x-single-active-consumer"] = True
        if self.quorum:
            # A queue's type is fixed when it is first declared: switch on a fresh vhost.
            arguments["x-queue-type"] = "quorum"
        return arguments

    # --- the publish deadline (per thread: each thread has its own connection) -------------

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        self.state.deadline = time.monotonic() + self.publish_timeout_s
        connection = getattr(self.state, "connection", None)
        if connection is not None and connection.is_open:
            self._arm(connection)
        try:
            return super().enqueue(message, delay=delay)
        finally:
            self.state.deadline = None
            self._disarm()

    def _remaining_s(self) -> float | None:
        deadline: float | None = getattr(self.state, "deadline", None)
        return None if deadline is None else deadline - time.monotonic()

    def _arm(self, connection: pika.BlockingConnection) -> None:
        """Tear ``connection`` down when the publish's time is up. The timer runs on the
        connection's I/O loop, which pika turns while this thread waits in any call on it."""
        remaining = self._remaining_s()
        assert remaining is not None
        impl = connection._impl

        def expire() -> None:
            # pika's timer and ours read the same clock, but say so outright: the time is
            # up, and Dramatiq's retry (see the deleter) must not start.
            self.state.deadline = time.monotonic()
            self.state.timer = None
            impl._terminate_stream(
                PublishTimeout(f"no publisher confirm within {self.publish_timeout_s} s")
            )

        self.state.timer = (connection, impl._adapter_call_later(max(remaining, 0), expire))

    def _disarm(self) -> None:
        armed = getattr(self.state, "timer", None)
        self.state.timer = None
        if armed is not None and armed[0].is_open:
            armed[0]._impl._adapter_remove_timeout(armed[1])

    @property
    def connection(self) -> pika.BlockingConnection:
        """The thread's connection, as Dramatiq's; one opened during a publish connects
        within the time left and is armed with the publish's deadline."""
        connection: pika.BlockingConnection | None = getattr(self.state, "connection", None)
        if connection is None:
            remaining = self._remaining_s()
            parameters: Any = self.parameters
            if remaining is not None:
                if remaining <= 0:
                    raise PublishTimeout(f"no time left of {self.publish_timeout_s} s to connect")
                parameters = [copy.copy(p) for p in self._parameter_list()]
                for params in parameters:
                    params.socket_timeout = params.stack_timeout = remaining
            connection = self.state.connection = pika.BlockingConnection(parameters=parameters)
            self.connections.add(connection)
            if remaining is not None:
                self._arm(connection)
        return connection

    @connection.deleter
    def connection(self) -> None:
        # Dramatiq drops the connection after a failed publish, then tries again on a new
        # one: past the deadline, end the publish instead (raised inside Dramatiq's handler,
        # so the pika error that dropped the connection is the context). The timer stays
        # armed while Dramatiq closes the connection: a close waits for the broker's answer.
        RabbitmqBroker.connection.fdel(self)  # type: ignore[attr-defined]
        self._disarm()
        remaining = self._remaining_s()
        if remaining is not None and remaining <= 0:
            timeout = PublishTimeout(f"not published in {self.publish_timeout_s} s")
            raise ConnectionClosed(timeout)  # type: ignore[no-untyped-call]


class PoolWorker(Worker):
    """A Dramatiq worker that can share its broker with other workers of the process, and
    whose stop waits at most ``stop_timeout_s`` for its in-flight messages.

    Dramatiq's ``Worker.start`` adds a middleware to the broker that starts a consumer for
    each queue declared (now and later), and never removes it. The commands pool runs one
    worker per shard it owns on one broker, so each start left one more behind: Dramatiq
    warned "adding a middleware of the same type twice" once per earlier one (0 + 1 + … + 7
    = 28 warnings for 8 shards), and every shard taken again after a rebalance added one
    more, holding on to a stopped worker. Every queue is declared (with its actor) before
    any worker starts, so once started the middleware has nothing left to do: it is taken
    out again.

    A message still running when the stop times out (a command waiting for an unreachable
    database, a long bulk) is given back: the connection closes unacked and RabbitMQ
    returns it to the head of its queue, for this pool's next process.
    """

    def __init__(self, broker: Broker, *, stop_timeout_s: float | None = None, **kwargs: Any):
        super().__init__(broker, **kwargs)
        self.stop_timeout_ms = None if stop_timeout_s is None else int(stop_timeout_s * 1000)

    def start(self) -> None:
        super().start()
        # A new list, not an edit in place: other workers' threads may be iterating it.
        self.broker.middleware = [
            m for m in self.broker.middleware if getattr(m, "worker", None) is not self
        ]

    def stop(self, timeout: int | None = None) -> None:
        timeout = self.stop_timeout_ms if timeout is None else timeout
        if timeout is None:
            super().stop()  # Dramatiq's default wait
        else:
            super().stop(timeout)


def make_broker(settings: Settings) -> Broker:
    if settings.broker_url:
        return AgentqRabbitmqBroker(
            url=settings.broker_url,
            confirm_delivery=True,
            quorum=settings.quorum_queues,
            publish_timeout_s=settings.publish_timeout_s,
        )
    return StubBroker()
