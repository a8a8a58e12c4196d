"""Publisher confirms on one channel: which publish each Basic.Ack, Basic.Nack or Basic.Return
answers, so many publishes can be in flight at once.

RabbitMQ numbers the messages published on a confirm-mode channel 1, 2, 3, … (the delivery
tag) and confirms each, in any order, alone or together with every earlier one
(``multiple``). A mandatory message no queue takes comes back first as Basic.Return (which
carries the message, not its tag), then is acked: the return is what fails it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

__all__ = ["ChannelLost", "Confirms", "Nacked", "PublishFailed", "Unroutable"]


def _fail(future: asyncio.Future[None], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
        future.exception()  # retrieved: a caller that gave up waiting is nothing to log


class PublishFailed(Exception):
    """A publish that RabbitMQ did not confirm as queued."""


class Nacked(PublishFailed):
    """RabbitMQ refused the message (Basic.Nack: an internal error in the queue)."""


class Unroutable(PublishFailed):
    """No queue took the mandatory message (Basic.Return): the queue does not exist."""


class ChannelLost(PublishFailed):
    """The channel or its connection closed before the confirm came: the message may or may
    not be queued."""


class Confirms:
    """The publishes in flight on one channel, by delivery tag; each has a future that the
    confirm resolves (or fails)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._next_tag = 1
        #: Oldest first, so ``multiple`` acks take from the front.
        self._pending: OrderedDict[int, tuple[str, asyncio.Future[None]]] = OrderedDict()
        self._tags: dict[str, int] = {}
        self._lost: BaseException | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def sent(self, message_id: str) -> asyncio.Future[None]:
        """Count a message just published on the channel; its confirm resolves the future.
        ``message_id`` names the message in a Basic.Return (the message's own id)."""
        future: asyncio.Future[None] = self._loop.create_future()
        if self._lost is not None:
            _fail(future, ChannelLost(f"the channel is closed: {self._lost}"))
            return future
        tag = self._next_tag
        self._next_tag += 1
        self._pending[tag] = (message_id, future)
        self._tags[message_id] = tag
        return future

    def acked(self, tag: int, multiple: bool) -> None:
        for future in self._take(tag, multiple):
            if not future.done():
                future.set_result(None)

    def nacked(self, tag: int, multiple: bool) -> None:
        for future in self._take(tag, multiple):
            _fail(future, Nacked("RabbitMQ refused the message (Basic.Nack)"))

    def returned(self, message_id: str, reason: str) -> None:
        """The message came back unrouted; its ack (which follows) finds it failed already."""
        tag = self._tags.get(message_id)
        if tag is None or tag not in self._pending:
            return
        _fail(self._pending[tag][1], Unroutable(reason))

    def lost(self, reason: BaseException) -> None:
        """The channel closed: every publish in flight fails, and any sent later too."""
        self._lost = reason
        pending, self._pending = self._pending, OrderedDict()
        self._tags.clear()
        for _, future in pending.values():
            _fail(future, ChannelLost(f"the channel closed: {reason!r}"))

    def _take(self, tag: int, multiple: bool) -> list[asyncio.Future[None]]:
        taken = []
        if multiple:
            # Tag 0 with ``multiple``: every message so far.
            while self._pending and (tag == 0 or next(iter(self._pending)) <= tag):
                message_id, future = self._pending.popitem(last=False)[1]
                self._tags.pop(message_id, None)
                taken.append(future)
        elif (entry := self._pending.pop(tag, None)) is not None:
            self._tags.pop(entry[0], None)
            taken.append(entry[1])
        return taken
