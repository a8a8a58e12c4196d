"""The batching consumer of a shard queue, over a stand-in for Dramatiq's RabbitMQ consumer:
what it takes as a batch, and how it acks (at once, or each when one failed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message

from domain import commands as c
from service.commands.batches import Result
from service.commands.envelope import Envelope, Outcome, encode
from service.ids import new_id
from workers.command_consumer import BatchConsumer
from workers.commands import declare_command_actors, queue_name


class _Consumer:
    """Delivers ``messages`` (those ``here`` at once; the rest arrive one a ``next``)."""

    def __init__(self, messages: list[MessageProxy], here: int) -> None:
        self.messages = list(messages)
        self.here = here
        self.acked_at_once: list[list[MessageProxy]] = []
        self.acked: list[MessageProxy] = []
        self.nacked: list[MessageProxy] = []

    def __next__(self) -> MessageProxy | None:
        if not self.messages:
            return None
        self.here = max(self.here - 1, 0)
        return self.messages.pop(0)

    def waiting(self) -> int:
        return min(self.here, len(self.messages))

    def ack_all(self, messages: Sequence[MessageProxy]) -> None:
        self.acked_at_once.append(list(messages))

    def ack(self, message: MessageProxy) -> None:
        self.acked.append(message)

    def nack(self, message: MessageProxy) -> None:
        self.nacked.append(message)


def _messages(broker: StubBroker, n: int) -> list[MessageProxy]:
    actor = declare_command_actors(broker, 1)[0]
    return [
        MessageProxy(
            Message(
                queue_name(0),
                actor.actor_name,
                (encode(Envelope(new_id("cmd"), "cmp_1", "user:t", c.CancelIssue("iss_1"))),),
                {},
                {},
            )
        )
        for _ in range(n)
    ]


class _Applied:
    def __init__(self, fail: set[int] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail or set()

    def __call__(self, envs: Sequence[Envelope]) -> list[Result]:
        self.batches.append([env.command_id for env in envs])
        done = sum(map(len, self.batches)) - len(envs)
        return [
            RuntimeError("still failing")
            if done + i in self.fail
            else Outcome(e.command_id, True, 200, None)
            for i, e in enumerate(envs)
        ]


@pytest.fixture
def broker() -> StubBroker:
    return StubBroker()


def _consumer(broker: StubBroker, applied: _Applied, batch: int) -> BatchConsumer:
    return BatchConsumer(broker, queue_name(0), applied, batch=batch)


def test_the_waiting_messages_are_one_batch_up_to_its_size_and_acked_at_once(
    broker: StubBroker,
) -> None:
    messages = _messages(broker, 5)
    source = _Consumer(messages, here=5)
    applied = _Applied()
    consumer = _consumer(broker, applied, batch=3)
    for _ in range(2):
        consumer._handle(source, consumer._next_batch(source))  # type: ignore[arg-type]
    assert [len(b) for b in applied.batches] == [3, 2]
    assert source.acked_at_once == [messages[:3], messages[3:]]
    assert not source.acked and not source.nacked


def test_a_lone_message_is_applied_at_once_without_waiting_for_more(broker: StubBroker) -> None:
    messages = _messages(broker, 2)
    source = _Consumer(messages, here=1)  # the second arrives later
    applied = _Applied()
    consumer = _consumer(broker, applied, batch=32)
    consumer._handle(source, consumer._next_batch(source))  # type: ignore[arg-type]
    assert [len(b) for b in applied.batches] == [1]


def test_a_command_failing_after_its_retries_is_dead_lettered_and_the_others_acked(
    broker: StubBroker,
) -> None:
    messages = _messages(broker, 3)
    source = _Consumer(messages, here=3)
    consumer = _consumer(broker, _Applied(fail={1}), batch=3)
    consumer._handle(source, consumer._next_batch(source))  # type: ignore[arg-type]
    assert source.acked_at_once == []
    assert source.acked == [messages[0], messages[2]] and source.nacked == [messages[1]]


def test_a_message_no_actor_reads_is_dead_lettered_and_the_batch_goes_on(
    broker: StubBroker,
) -> None:
    messages = _messages(broker, 2)
    broken: Any = MessageProxy(Message(queue_name(0), messages[0].actor_name, ({},), {}, {}))
    source = _Consumer([broken, *messages], here=3)
    applied = _Applied()
    consumer = _consumer(broker, applied, batch=3)
    consumer._handle(source, consumer._next_batch(source))  # type: ignore[arg-type]
    assert [len(b) for b in applied.batches] == [2]
    assert source.nacked == [broken] and source.acked == messages
