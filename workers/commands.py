"""The commands pool: N shard queues, each applied one message at a time, in order."""

from __future__ import annotations

import zlib
from typing import Any

import dramatiq
from dramatiq.broker import Broker
from dramatiq.message import Message

from service.commands.envelope import Envelope, decode, encode
from workers.broker import COMMAND_QUEUE_PREFIX
from workers.handlers import Handlers

__all__ = ["CommandBus", "declare_command_actors", "shard_for"]


def shard_for(key: str, shards: int) -> int:
    """The shard of an entity: stable across processes and restarts."""
    return zlib.crc32(key.encode()) % shards


def queue_name(shard: int) -> str:
    return f"{COMMAND_QUEUE_PREFIX}{shard}"


def declare_command_actors(
    broker: Broker, shards: int, handlers: Handlers | None = None
) -> list[dramatiq.Actor[Any, Any]]:
    """One actor per shard queue, applying with ``handlers``' applier. No Dramatiq retries: a
    retry would requeue a command behind later commands of the same issue; ``Applier``
    retries in place instead."""
    found = handlers or Handlers()

    def apply_command(message: dict[str, Any]) -> None:
        found.the_applier().apply(decode(message))

    return [
        dramatiq.actor(
            broker=broker,
            actor_name=f"apply_command_{i}",
            queue_name=queue_name(i),
            max_retries=0,
        )(apply_command)
        for i in range(shards)
    ]


class CommandBus:
    """Publishes envelopes to their shard (blocking: call it from a thread, not the loop; the
    API publishes ``message(env)`` on its loop instead, ``workers.async_publisher``)."""

    def __init__(self, actors: list[dramatiq.Actor[Any, Any]]) -> None:
        self.actors = actors

    def message(self, env: Envelope) -> Message[Any]:
        """The Dramatiq message of ``env``, addressed to its shard's queue."""
        return self._actor(env).message(encode(env))

    def publish(self, env: Envelope) -> None:
        self._actor(env).send(encode(env))

    def shard_of(self, env_or_key: Envelope | str) -> int:
        """The shard an envelope (or the entity of a shard key) is applied on: the bulk
        runner groups a bulk's items by it, so that a slice is sent on its issues' shard."""
        key = env_or_key if isinstance(env_or_key, str) else env_or_key.command.shard_key
        return shard_for(key, len(self.actors))

    def _actor(self, env: Envelope) -> dramatiq.Actor[Any, Any]:
        return self.actors[self.shard_of(env)]

    def ping(self) -> None:
        """Raise if the broker does not answer (the in-process stub always does)."""
        broker: Any = self.actors[0].broker
        if not hasattr(type(broker), "connection"):
            return
        try:
            broker.connection.process_data_events(time_limit=0)
        except Exception:
            # This thread's connection is closed (RabbitMQ restarted, or it reset the
            # connection): drop it and ask again on a fresh one, so the answer is about the
            # broker now, not about a connection that died earlier. Each thread has its own
            # connection, so without this every thread would answer "down" once.
            del broker.connection
            broker.connection.process_data_events(time_limit=0)
