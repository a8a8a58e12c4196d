"""The API's publisher (``workers.async_publisher``) on a fake pika connection: each publish
is answered by its own confirm, whatever their order; a nack, a return or a lost channel
fails exactly the publishes it concerns; the time limit holds and drops the connection;
and what goes out is what Dramatiq itself publishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from dramatiq.message import Message

from api.services import Services
from domain import commands as c
from service.commands.envelope import Envelope
from service.settings import Settings
from tests.unit.fake_pika import FakeConnections, Published
from workers.async_publisher import NACK_ATTEMPTS, AsyncPublisher
from workers.broker import AgentqRabbitmqBroker, PublishTimeout
from workers.commands import CommandBus, declare_command_actors
from workers.confirms import ChannelLost, Nacked, Unroutable

URL = "amqp://guest:guest@127.0.0.1:5672/agentq"


def _publisher(limit_s: float = 5.0, hold: bool = False) -> tuple[AsyncPublisher, FakeConnections]:
    connections = FakeConnections(hold=hold)
    broker = AgentqRabbitmqBroker(url=URL, confirm_delivery=True, publish_timeout_s=limit_s)
    return AsyncPublisher(broker, connect=connections), connections


def _message(n: int, queue: str = "commands.0") -> Message[Any]:
    return Message(queue_name=queue, actor_name="apply_command_0", args=(n,), kwargs={}, options={})


def _run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 10))


async def _until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.001)


async def _in_flight(
    publisher: AsyncPublisher, connections: FakeConnections, count: int
) -> list[asyncio.Task[None]]:
    """``count`` publishes started together, once all are on the wire."""
    tasks = [asyncio.ensure_future(publisher.publish(_message(n))) for n in range(count)]
    await _until(lambda: bool(connections.made) and connections.made[-1].chan is not None)
    await _until(lambda: len(connections.channel.published) == count)
    await asyncio.sleep(0)
    return tasks


def test_publishes_in_flight_together_are_each_answered_by_their_own_confirm_in_any_order() -> None:
    async def test() -> None:
        publisher, connections = _publisher()
        first, second, third, fourth = await _in_flight(publisher, connections, 4)
        channel = connections.channel
        channel.ack(3)
        await asyncio.sleep(0)
        assert [t.done() for t in (first, second, third, fourth)] == [False, False, True, False]
        channel.ack(2, multiple=True)  # 1 and 2 (3 was acked already)
        await asyncio.sleep(0)
        assert [t.done() for t in (first, second, fourth)] == [True, True, False]
        channel.ack(4)
        await asyncio.gather(first, second, third, fourth)
        assert len(connections.made) == 1  # one connection for all of them
        # The queue was declared once, before the first publish, on that connection.
        assert [d[0] for d in channel.declared] == ["commands.0", "commands.0.DQ", "commands.0.XQ"]

    _run(test)


def test_a_nacked_publish_goes_again_on_a_new_connection_and_the_old_one_closes_once_idle() -> None:
    async def test() -> None:
        publisher, connections = _publisher()
        first, second, third = await _in_flight(publisher, connections, 3)
        old = connections.made[0]
        old.chan.nack(1)  # type: ignore[union-attr]
        # The nacked one is published again on a new connection (after a pause) ...
        await _until(lambda: len(connections.made) == 2 and connections.made[1].chan is not None)
        new = connections.made[1]
        await _until(lambda: len(new.chan.published) == 1)  # type: ignore[union-attr]
        assert Message.decode(new.chan.published[0].body).args == (0,)  # type: ignore[union-attr]
        # ... while those in flight on the old one are answered there, not failed.
        assert not old.closed_politely and not (second.done() or third.done())
        old.chan.ack(3, multiple=True)  # type: ignore[union-attr]
        await asyncio.gather(second, third)
        await _until(lambda: old.is_closed)
        assert old.closed_politely and old.terminated is None
        assert not first.done()
        new.chan.ack(1)  # type: ignore[union-attr]
        await first
        # New publishes go to the new connection.
        fourth = asyncio.ensure_future(publisher.publish(_message(4)))
        await _until(lambda: len(new.chan.published) == 2)  # type: ignore[union-attr]
        new.chan.ack(2)  # type: ignore[union-attr]
        await fourth
        assert len(connections.made) == 2
        assert publisher.link is not None and publisher.link.connection is new

    _run(test)


def test_a_publish_nacked_on_every_attempt_fails_after_its_last_connection() -> None:
    async def test() -> None:
        publisher, connections = _publisher()
        task = asyncio.ensure_future(publisher.publish(_message(1)))
        for attempt in range(1, NACK_ATTEMPTS + 1):

            def sent_on_its_own_connection(attempt: int = attempt) -> bool:
                latest = connections.made[-1] if connections.made else None
                return (
                    len(connections.made) == attempt
                    and latest is not None
                    and latest.chan is not None
                    and len(latest.chan.published) == 1
                )

            await _until(sent_on_its_own_connection)
            connections.channel.nack(1)
        with pytest.raises(Nacked):
            await task
        assert len(connections.made) == NACK_ATTEMPTS
        await _until(lambda: all(c.is_closed for c in connections.made))

    _run(test)


def test_a_returned_message_fails_its_publish_though_acked_and_its_queue_is_declared_again() -> (
    None
):
    async def test() -> None:
        publisher, connections = _publisher()
        first, second = await _in_flight(publisher, connections, 2)
        channel = connections.channel
        channel.give_back(0)  # RabbitMQ returns an unroutable message before acking it
        channel.ack(2, multiple=True)
        with pytest.raises(Unroutable, match=r"commands\.0"):
            await first
        await second
        again = asyncio.ensure_future(publisher.publish(_message(3)))
        await _until(lambda: len(channel.published) == 3)
        channel.ack(3)
        await again
        assert [d[0] for d in channel.declared].count("commands.0") == 2

    _run(test)


def test_a_closed_channel_fails_every_publish_in_flight_at_once_and_the_next_one_reconnects() -> (
    None
):
    async def test() -> None:
        publisher, connections = _publisher(limit_s=30)
        tasks = await _in_flight(publisher, connections, 3)
        started = time.monotonic()
        connections.channel.close_by_broker()
        for task in tasks:
            with pytest.raises(ChannelLost):
                await task
        assert time.monotonic() - started < 0.5  # at once, not at the 30 s limit
        assert connections.made[0].closed_politely  # the connection goes with its channel

        again = asyncio.ensure_future(publisher.publish(_message(4)))
        await _until(lambda: len(connections.made) == 2 and connections.made[1].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        connections.channel.ack(1)  # tags count from 1 again on the new channel
        await again

    _run(test)


def test_a_lost_connection_fails_every_publish_in_flight_and_the_next_one_reconnects() -> None:
    async def test() -> None:
        publisher, connections = _publisher(limit_s=30)
        tasks = await _in_flight(publisher, connections, 2)
        connections.made[0].drop()
        for task in tasks:
            with pytest.raises(ChannelLost):
                await task
        again = asyncio.ensure_future(publisher.publish(_message(5)))
        await _until(lambda: len(connections.made) == 2 and connections.made[1].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        connections.channel.ack(1)
        await again

    _run(test)


def test_a_publish_not_confirmed_in_time_fails_at_the_limit_and_tears_its_connection_down() -> None:
    limit_s = 0.2

    async def test() -> None:
        publisher, connections = _publisher(limit_s=limit_s)
        started = time.monotonic()
        timed = asyncio.ensure_future(publisher.publish(_message(1)))
        await _until(lambda: bool(connections.made) and connections.made[0].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        await asyncio.sleep(limit_s / 2)
        later = asyncio.ensure_future(publisher.publish(_message(2)))  # with time left
        await _until(lambda: len(connections.channel.published) == 2)
        with pytest.raises(PublishTimeout):
            await timed
        took = time.monotonic() - started
        assert limit_s - 0.02 <= took <= limit_s + 0.3
        # Torn down, not closed politely (RabbitMQ may not be listening): nothing of the
        # publish goes on, and the publish behind it fails with it, at once.
        assert isinstance(connections.made[0].terminated, PublishTimeout)
        with pytest.raises(ChannelLost):
            await later
        assert time.monotonic() - started < limit_s + 0.3

        again = asyncio.ensure_future(publisher.publish(_message(3)))
        await _until(lambda: len(connections.made) == 2 and connections.made[1].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        connections.channel.ack(1)
        await again

    _run(test)


def test_a_publish_that_gives_up_waiting_for_the_connection_is_never_published() -> None:
    limit_s = 0.1

    async def test() -> None:
        publisher, connections = _publisher(limit_s=limit_s, hold=True)
        with pytest.raises(PublishTimeout):
            await publisher.publish(_message(1))
        opening = connections.made[0]
        assert opening.terminated is None  # left to open: nothing of the publish reached it
        waiting = asyncio.ensure_future(publisher.publish(_message(2)))
        opening.release()
        await _until(lambda: opening.chan is not None and len(opening.chan.published) == 1)
        assert opening.chan is not None
        opening.chan.ack(1)
        await waiting
        # Only the publish still waiting went out, on the connection both waited for.
        assert len(connections.made) == 1
        assert [Message.decode(p.body).args for p in opening.chan.published] == [(2,)]

    _run(test)


class _BlockingChannel:
    """What Dramatiq's blocking channel is asked to do."""

    def __init__(self) -> None:
        self.declared: list[tuple[str, bool, dict[str, Any]]] = []
        self.published: list[Published] = []

    def queue_declare(self, queue: str, durable: bool, arguments: dict[str, Any]) -> None:
        self.declared.append((queue, durable, arguments))

    def basic_publish(self, **kwargs: Any) -> None:
        self.published.append(Published(**kwargs))


@pytest.mark.parametrize("quorum", [False, True])
def test_what_goes_out_is_what_dramatiq_declares_and_publishes(quorum: bool) -> None:
    broker = AgentqRabbitmqBroker(url=URL, confirm_delivery=True, quorum=quorum)
    bus = CommandBus(declare_command_actors(broker, 8))
    env = Envelope("cmd_1", "cmp_1", "user:test", c.CancelIssue("iss_1"), 200)
    message = bus.message(env)
    dramatiqs = _BlockingChannel()
    broker.state.channel = dramatiqs
    broker.enqueue(message)

    async def test() -> None:
        connections = FakeConnections()
        publisher = AsyncPublisher(broker, connect=connections)
        task = asyncio.ensure_future(publisher.publish(message))
        await _until(lambda: bool(connections.made) and connections.made[0].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        connections.channel.ack(1)
        await task
        assert connections.channel.declared == dramatiqs.declared
        assert connections.channel.published == dramatiqs.published

    _run(test)
    assert message.queue_name.startswith("commands.")
    assert dramatiqs.published[0].mandatory  # Dramatiq's, with confirms: unroutable is an error


class _Results:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.marked: list[str] = []

    async def mark_accepted(self, command_id: str, company_id: str) -> None:
        await asyncio.sleep(self.delay_s)
        self.marked.append(command_id)


def _services(
    publisher: AsyncPublisher, bus: CommandBus, results: _Results, limit_s: float
) -> Services:
    # Only what ``Services.publish`` touches; the rest is never used here.
    none = cast(Any, None)
    return Services(
        settings=Settings(publish_timeout_s=limit_s),
        engine=none,
        bus=bus,
        results=cast(Any, results),
        publisher=publisher,
        admin_token="x",
        cursor_key=b"x",
        tokens=none,
        limiter=None,
    )


def test_a_202_write_is_marked_accepted_before_it_is_published_within_the_same_limit() -> None:
    limit_s = 0.2

    async def test() -> None:
        publisher, connections = _publisher(limit_s=limit_s)
        env = Envelope("cmd_1", "cmp_1", "user:test", c.CancelIssue("iss_1"), 200)
        bus = CommandBus(declare_command_actors(publisher.broker, 8))
        svc = _services(publisher, bus, _Results(0), limit_s)
        task = asyncio.ensure_future(svc.publish(env, answer_202=True))
        await _until(lambda: bool(connections.made) and connections.made[0].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        assert cast(_Results, svc.results).marked == ["cmd_1"]
        connections.channel.ack(1)
        await task

        # A mark that takes the whole limit: the write fails at the limit, never published.
        slow = _services(publisher, bus, _Results(10), limit_s)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await slow.publish(Envelope("cmd_2", "cmp_1", "user:test", c.CancelIssue("i")), True)
        assert time.monotonic() - started <= limit_s + 0.3
        assert len(connections.channel.published) == 1

    _run(test)


def test_a_node_that_cannot_be_reached_is_passed_over_for_the_next_within_the_same_publish() -> (
    None
):
    async def test() -> None:
        connections = FakeConnections(hold=True)
        urls = ";".join(f"amqp://guest:guest@127.0.0.1:{port}/agentq" for port in (5701, 5702))
        broker = AgentqRabbitmqBroker(url=urls, confirm_delivery=True, publish_timeout_s=5.0)
        publisher = AsyncPublisher(broker, connect=connections)
        task = asyncio.ensure_future(publisher.publish(_message(1)))
        await _until(lambda: len(connections.made) == 1)
        connections.made[0].drop()  # refused: the node is down
        await _until(lambda: len(connections.made) == 2)
        assert [c.parameters.port for c in connections.made] == [5701, 5702]
        connections.made[1].release()
        await _until(lambda: connections.made[1].chan is not None)
        await _until(lambda: len(connections.channel.published) == 1)
        connections.channel.ack(1)
        await task  # no 503 for a node down while another answers

    _run(test)
