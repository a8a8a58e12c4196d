"""The API's publisher (``workers.async_publisher``) on the real RabbitMQ, in a vhost of each
test's own: many publishes in flight all confirmed and queued once; an unroutable message
is an error; connections RabbitMQ closes fail what is in flight at once, and the next
publish reconnects; the message is the one Dramatiq's own publisher sends."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pytest
from dramatiq.message import Message

from domain import commands as c
from service.commands.envelope import Envelope, decode
from tests.e2e.client import Api, poll_command
from tests.procs import ServiceUrls, Stack
from workers.async_publisher import AsyncPublisher
from workers.broker import AgentqRabbitmqBroker
from workers.commands import CommandBus, declare_command_actors
from workers.confirms import ChannelLost, PublishFailed, Unroutable

QUEUE = "commands.0"


@pytest.fixture
def broker(own_vhost_urls: ServiceUrls) -> Iterator[AgentqRabbitmqBroker]:
    broker = AgentqRabbitmqBroker(
        url=own_vhost_urls.broker_url, confirm_delivery=True, publish_timeout_s=30
    )
    yield broker
    broker.close()


def _message(n: int) -> Message[Any]:
    return Message(queue_name=QUEUE, actor_name="apply_command_0", args=(n,), kwargs={}, options={})


def _drain(url: str, queue: str = QUEUE) -> list[tuple[pika.BasicProperties, bytes]]:
    """Every message in ``queue``, taken off it."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        taken = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((properties, body))
    finally:
        connection.close()


def _ids(url: str) -> Counter[str]:
    return Counter(Message.decode(body).message_id for _, body in _drain(url))


def test_many_publishes_in_flight_at_once_are_all_confirmed_and_each_is_queued_once(
    broker: AgentqRabbitmqBroker, own_vhost_urls: ServiceUrls
) -> None:
    messages = [_message(n) for n in range(500)]

    async def publish_all() -> None:
        publisher = AsyncPublisher(broker)
        try:
            await asyncio.gather(*(publisher.publish(m) for m in messages))
            link = publisher.link
            assert link is not None and not link.closed and len(link.confirms) == 0
        finally:
            await publisher.close()

    asyncio.run(publish_all())
    assert _ids(own_vhost_urls.broker_url) == Counter(m.message_id for m in messages)


def test_a_message_no_queue_takes_fails_its_publish_and_the_queue_is_declared_again(
    broker: AgentqRabbitmqBroker, own_vhost_urls: ServiceUrls
) -> None:
    async def scenario() -> None:
        publisher = AsyncPublisher(broker)
        try:
            await publisher.publish(_message(1))  # declares the queue on this connection
            _delete_queue(own_vhost_urls.broker_url, QUEUE)  # behind the publisher's back
            with pytest.raises(Unroutable, match="NO_ROUTE"):
                await publisher.publish(_message(2))  # mandatory: RabbitMQ returns it
            await publisher.publish(_message(3))  # declared again first, then queued
        finally:
            await publisher.close()

    asyncio.run(scenario())
    assert [Message.decode(body).args for _, body in _drain(own_vhost_urls.broker_url)] == [(3,)]


def _delete_queue(url: str, queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        connection.channel().queue_delete(queue)
    finally:
        connection.close()


def _close_connections_of(vhost: str) -> None:
    """RabbitMQ closes every connection of ``vhost`` (only this test's own)."""
    subprocess.run(
        ["rabbitmqctl", "-q", "close_all_connections", "--vhost", vhost, "--limit", "100", "test"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_connections_rabbitmq_closes_fail_the_publishes_in_flight_at_once_and_the_next_reconnect(
    broker: AgentqRabbitmqBroker, own_vhost_urls: ServiceUrls
) -> None:
    vhost = unquote(urlsplit(own_vhost_urls.broker_url).path.removeprefix("/"))
    confirmed: list[str] = []
    failed: list[tuple[str, BaseException, float]] = []

    async def producer(publisher: AsyncPublisher, stop: asyncio.Event, n: int) -> None:
        while not stop.is_set():
            message = _message(n)
            started = time.monotonic()
            try:
                await publisher.publish(message)
            except PublishFailed as error:
                failed.append((message.message_id, error, time.monotonic() - started))
            else:
                confirmed.append(message.message_id)

    async def scenario() -> None:
        publisher = AsyncPublisher(broker)  # a 30 s limit: failing at once is not timing out
        stop = asyncio.Event()
        try:
            await publisher.publish(_message(0))
            first = publisher.link
            producers = [asyncio.ensure_future(producer(publisher, stop, n)) for n in range(20)]
            await asyncio.to_thread(_close_connections_of, vhost)
            await _until_true(lambda: bool(failed), 10)
            after = len(confirmed)
            await _until_true(lambda: len(confirmed) > after + 20, 10)  # on a new connection
            stop.set()
            await asyncio.gather(*producers)
            assert publisher.link is not first and first is not None and first.closed
        finally:
            await publisher.close()

    asyncio.run(scenario())
    assert failed and all(isinstance(error, ChannelLost) for _, error, _ in failed)
    assert max(took for _, _, took in failed) < 5  # at once, not at the 30 s limit
    queued = _ids(own_vhost_urls.broker_url)
    # Every confirmed publish is queued exactly once; a failed one at most once (it may have
    # been queued before its confirm was lost: the caller's retry carries its key).
    assert all(queued[m] == 1 for m in confirmed)
    assert all(queued[m] <= 1 for m, _, _ in failed)
    assert len(queued) == len(confirmed) + 1 + sum(queued[m] for m, _, _ in failed)


async def _until_true(check: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.01)


def test_a_command_goes_out_as_dramatiq_sends_it_and_the_queues_agree(
    own_vhost_urls: ServiceUrls,
) -> None:
    """The API's publisher declares the shard queue first (with the broker's arguments); the
    blocking publisher of the pools then declares it again, which RabbitMQ refuses if any
    argument differs; both messages read back alike."""
    broker = AgentqRabbitmqBroker(url=own_vhost_urls.broker_url, confirm_delivery=True)
    bus = CommandBus(declare_command_actors(broker, 1))
    env = Envelope("cmd_1", "cmp_1", "user:test", c.CancelIssue("iss_1"), 200)

    async def publish() -> None:
        publisher = AsyncPublisher(broker)
        try:
            await publisher.publish(bus.message(env))
        finally:
            await publisher.close()

    try:
        asyncio.run(publish())
        bus.publish(env)
    finally:
        broker.close()
    (ours, our_body), (dramatiqs, dramatiqs_body) = _drain(own_vhost_urls.broker_url)
    assert ours == dramatiqs
    assert ours.delivery_mode == 2
    mine, theirs = Message.decode(our_body), Message.decode(dramatiqs_body)
    assert mine._replace(message_id="", message_timestamp=0) == theirs._replace(
        message_id="", message_timestamp=0
    )
    assert decode(mine.args[0]) == env


def test_the_api_publishes_again_after_rabbitmq_closed_its_connection(distributed: Stack) -> None:
    """The API process's connection, closed by RabbitMQ between two writes, is opened again
    by the next write: it is accepted (no 503), and applied once the workers are back."""
    vhost = unquote(urlsplit(distributed.env["AGENTQ_BROKER_URL"]).path.removeprefix("/"))
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        acme.issue("before")
        _close_connections_of(vhost)  # the API's, and the workers' (they reconnect)
        time.sleep(1)  # RabbitMQ's close reaches the API (else the write meets it: a 503)
        r = acme.call("POST", "/issues", {"title": "after"}, headers={"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        done = poll_command(acme, r.headers["Location"], timeout_s=60)
        assert done["status"] == "applied" and done["result"]["title"] == "after", done
