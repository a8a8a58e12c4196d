"""The commands pool's consumer of one shard queue: the waiting commands, applied as a batch.

Dramatiq's ``Worker`` acks each message when its actor returns, so a batch cannot be applied
through it: this consumer is built on Dramatiq's own broker consumer API instead
(``Broker.consume(queue, prefetch, timeout)``, a ``Consumer`` whose messages it acks itself)
and keeps Dramatiq's message format, its middleware hooks (``process_message`` before and
after each message, ``ack`` and ``nack``) and its actors (every command is still sent to its
shard's actor, and the API and the scheduler send them as before).

Each turn: block for the first message (up to ``IDLE_TIMEOUT_MS``, so a stop is seen), take
the messages already delivered after it without waiting (up to ``batch``), apply them in
delivery order (``BatchApplier.apply_batch``: one transaction, outcomes published after the
commit), then ack them at once (``multiple=True`` on the last delivery tag). A lone command
is applied at once: there is no batching delay. Prefetch is twice the batch, so the next
batch is already on its way while one is applied.

Dramatiq's RabbitMQ consumer has no "next message if one is here" and no multiple ack, so
``BatchingRabbitmqConsumer`` adds both to it (``AgentqRabbitmqBroker.consumer_class``): the
count of messages pika holds for the consumer (``BlockingChannel.get_waiting_message_count``,
after reading what the socket already has), and ``basic_ack(multiple=True)``. Any other
broker's consumer (the embedded stub) gives batches of one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

import pika.exceptions
from dramatiq.broker import Broker, Consumer, MessageProxy
from dramatiq.brokers.rabbitmq import _RabbitmqConsumer
from dramatiq.errors import BrokerConnectionError, ConnectionClosed

from service.commands.batches import Result
from service.commands.envelope import Envelope, decode

__all__ = ["IDLE_TIMEOUT_MS", "BatchConsumer", "BatchingRabbitmqConsumer"]

log = logging.getLogger("agentq.workers")

#: How long a consumer waits for a first message before looking whether it is to stop, in ms.
IDLE_TIMEOUT_MS = 1000
#: Pause before consuming again after the broker connection was lost, in seconds.
RECONNECT_DELAY_S = 1.0


class BatchingRabbitmqConsumer(_RabbitmqConsumer):
    """Dramatiq's RabbitMQ consumer, plus what a batch needs."""

    def waiting(self) -> int:
        """How many messages can be taken now without waiting (those already received)."""
        try:
            self.connection.process_data_events(time_limit=0)
            return int(self.channel.get_waiting_message_count())
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]

    def ack_all(self, messages: Sequence[MessageProxy]) -> None:
        """Ack ``messages`` (every unacked delivery up to the last one's tag) in one frame."""
        tags = [message._tag for message in messages]
        self.known_tags.difference_update(tags)
        try:
            self.connection.add_callback_threadsafe(
                partial(self.channel.basic_ack, max(tags), multiple=True)
            )
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as e:
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]


ApplyBatch = Callable[[Sequence[Envelope]], list[Result]]


class BatchConsumer:
    """Applies one shard queue's messages, up to ``batch`` at a time, on a thread of its own.

    ``stop`` lets the batch in flight finish (commit, publish, ack) for up to
    ``stop_timeout_s``, then closes the connection: what was delivered but not applied goes
    back to the head of the queue. A batch still running then is left to finish or to be
    given back when the process exits (RabbitMQ redelivers it; its commands apply once).
    """

    def __init__(
        self,
        broker: Broker,
        queue: str,
        apply_batch: ApplyBatch,
        *,
        batch: int,
        stop_timeout_s: float | None = None,
    ) -> None:
        self.broker = broker
        self.queue = queue
        self.apply_batch = apply_batch
        self.batch = batch
        self.stop_timeout_s = stop_timeout_s
        self.running = False
        self._thread = threading.Thread(target=self._run, name=f"consume {queue}", daemon=True)
        self._consumer: Consumer | None = None

    def start(self) -> None:
        self.running = True
        self._thread.start()

    def stop(self) -> None:
        self.running = False
        self._thread.join(self.stop_timeout_s)
        if self._thread.is_alive():
            log.warning(
                "a batch of %s was still running at the stop timeout; given back at exit",
                self.queue,
                extra={"action": "batch_given_back"},
            )

    # --- the consumer thread ----------------------------------------------------------------

    def _run(self) -> None:
        while self.running:
            try:
                self._consumer = self.broker.consume(
                    self.queue, prefetch=2 * self.batch, timeout=IDLE_TIMEOUT_MS
                )
                while self.running:
                    batch = self._next_batch(self._consumer)
                    if batch:
                        self._handle(self._consumer, batch)
            except BrokerConnectionError as error:
                log.warning("consumer of %s lost its connection: %s", self.queue, error)
            except Exception:
                log.exception("consumer of %s failed; consuming again", self.queue)
            self._close()
            if self.running:
                time.sleep(RECONNECT_DELAY_S)

    def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        with contextlib.suppress(BrokerConnectionError):  # closed already: RabbitMQ
            consumer.close()  # requeues what was unacked

    def _next_batch(self, consumer: Consumer) -> list[MessageProxy]:
        """The first message (waiting up to the idle timeout), then those already here."""
        first = next(consumer)
        if first is None:
            return []
        batch: list[MessageProxy] = [first]
        waiting: Callable[[], int] | None = getattr(consumer, "waiting", None)
        while waiting is not None and len(batch) < self.batch and waiting() > 0:
            message = next(consumer)
            if message is not None:
                batch.append(message)
        return batch

    def _handle(self, consumer: Consumer, batch: list[MessageProxy]) -> None:
        """Apply the batch (Dramatiq's ``process_message`` hooks around each message), then
        ack: at once if every message was applied, else each (a failed one dead-lettered)."""
        envelopes: list[Envelope] = []
        live: list[MessageProxy] = []
        for message in batch:
            try:
                self.broker.emit_before("process_message", message)
                if not message.failed:
                    self.broker.get_actor(message.actor_name)
                    envelopes.append(decode(message.args[0]))
                    live.append(message)
            except Exception as error:  # a message no actor of ours can read
                log.exception("undecodable message on %s", self.queue)
                self._after(message, error)
        results = self.apply_batch(envelopes) if envelopes else []
        for message, result in zip(live, results, strict=True):
            self._after(message, result if isinstance(result, Exception) else None)
        self._before_ack()
        if all(not message.failed for message in batch) and hasattr(consumer, "ack_all"):
            for message in batch:
                self.broker.emit_before("ack", message)
            consumer.ack_all(batch)
            for message in batch:
                self.broker.emit_after("ack", message)
            return
        for message in batch:
            kind = "nack" if message.failed else "ack"
            self.broker.emit_before(kind, message)
            (consumer.nack if message.failed else consumer.ack)(message)
            self.broker.emit_after(kind, message)

    def _after(self, message: MessageProxy, error: Exception | None) -> None:
        """Dramatiq's after-``process_message`` hook (a failed command: its ``Retries``
        middleware fails the message; the actors have no retries, so it is dead-lettered)."""
        if error is None:
            self.broker.emit_after("process_message", message, result=None)
            return
        message.stuff_exception(error)
        self.broker.emit_after("process_message", message, exception=error)
        message.clear_exception()
        if not message.failed:
            message.fail()

    def _before_ack(self) -> None:
        """Where a test stops a worker between the commit and the ack (nothing here)."""
