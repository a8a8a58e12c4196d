"""A burst of 1,000 webhook events to one endpoint that answers in 1 ms, while a second
endpoint subscribed to the same events hangs 10 s on every request."""

from __future__ import annotations

import asyncio
import signal
import time

from tests.benchmarks.loadgen import CpuMeter
from tests.benchmarks.stack import CONCURRENCY, Bench, Figures, scaled
from tests.receiver import receiver

#: How long the fast endpoint takes to answer, and the hanging one, in seconds.
FAST_S, HANGING_S = 0.001, 10.0
#: The longest the burst may take to arrive before the section fails, in seconds.
GIVE_UP_S = 600


def webhook_burst(bench: Bench, cpu: CpuMeter) -> Figures:
    """The events wait while the webhooks pool is stopped (SIGSTOP), then meet it at once:
    the figure is the time from its resuming to the last event answered by the fast endpoint
    (so it measures delivery, not how fast the issues were created)."""
    events = scaled(1000, 20)
    (webhooks,) = (p for p in bench.stack.processes if p.name == "worker-webhooks")
    cid, token = bench.new_company()
    admin = {"Authorization": f"Bearer {token}"}
    with receiver(lambda _n: (200, FAST_S)) as fast, receiver(lambda _n: (200, HANGING_S)) as hang:
        for hook in (hang, fast):
            r = bench.http.post(
                f"/v1/companies/{cid}/webhooks",
                json={"url": hook.url, "events": ["issue.created"]},
                headers=admin,
            )
            assert r.status_code == 201, r.text
        webhooks.popen.send_signal(signal.SIGSTOP)
        try:
            _create_issues(bench, cid, token, events)
        finally:
            webhooks.popen.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        cpu.start()
        got = fast.wait_for(events, timeout_s=GIVE_UP_S)
        cpu.stop()
        drained_s = max(r.at for r in got) - resumed
        hanging_answered = len(hang.delivered())
    return {
        "webhook_burst_1000_s": drained_s,
        "webhook_burst_events": events,
        "webhook_burst_hanging_answered": hanging_answered,
    }


def _create_issues(bench: Bench, cid: str, token: str, count: int) -> None:
    async def all_of_them() -> None:
        left = list(range(count))

        async def worker() -> None:
            client = bench.client(token)
            try:
                while left:
                    left.pop()
                    r = await client.request("POST", f"/v1/companies/{cid}/issues", {"title": "w"})
                    assert r.status == 201, r.body
            finally:
                await client.close()

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    asyncio.run(all_of_them())
