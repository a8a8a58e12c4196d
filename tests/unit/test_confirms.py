"""``workers.confirms``: which publishes each confirm answers, by delivery tag."""

from __future__ import annotations

import asyncio

import pytest

from workers.confirms import ChannelLost, Confirms, Nacked, Unroutable


def _states(futures: list[asyncio.Future[None]]) -> list[str]:
    return [
        "waiting" if not f.done() else type(f.exception()).__name__ if f.exception() else "ok"
        for f in futures
    ]


def test_tags_count_from_one_and_acks_in_any_order_answer_exactly_their_publishes() -> None:
    async def test() -> None:
        confirms = Confirms(asyncio.get_running_loop())
        sent = [confirms.sent(f"m{n}") for n in range(1, 7)]
        confirms.acked(4, multiple=False)
        confirms.nacked(2, multiple=True)  # 1 and 2
        confirms.returned("m5", "no queue")  # its ack follows and changes nothing
        confirms.acked(5, multiple=True)  # 3 and 5 (1, 2 and 4 are answered already)
        assert _states(sent) == ["Nacked", "Nacked", "ok", "ok", "Unroutable", "waiting"]
        assert len(confirms) == 1
        confirms.acked(0, multiple=True)  # tag 0 with multiple: everything so far
        assert _states(sent)[-1] == "ok" and len(confirms) == 0
        with pytest.raises(Nacked):
            await sent[0]
        with pytest.raises(Unroutable, match="no queue"):
            await sent[4]

    asyncio.run(test())


def test_a_lost_channel_fails_what_is_in_flight_and_whatever_is_sent_after() -> None:
    async def test() -> None:
        confirms = Confirms(asyncio.get_running_loop())
        first, second = confirms.sent("m1"), confirms.sent("m2")
        confirms.acked(1, multiple=False)
        confirms.lost(ConnectionError("reset"))
        confirms.acked(2, multiple=True)  # too late: nothing left to answer
        later = confirms.sent("m3")
        assert _states([first, second, later]) == ["ok", "ChannelLost", "ChannelLost"]
        with pytest.raises(ChannelLost, match="reset"):
            await second
        confirms.returned("m9", "unknown")  # a message it never saw: ignored

    asyncio.run(test())
