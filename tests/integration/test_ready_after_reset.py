"""``/ready`` tells the broker's state now (issue #13): after RabbitMQ closes the API's
connections, the next ``/ready`` checks on a fresh one instead of reporting the dead one."""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from tests.conftest import stack_of_its_own
from tests.procs import ServiceUrls

#: Concurrent ``/ready`` calls before the reset, so that many of the API's threads hold a
#: broker connection of their own (each thread has one).
WARM_CALLS = 64


def _api_connections(vhost: str) -> int:
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "-p", vhost, "name"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return len([line for line in listed.stdout.splitlines() if line.strip()])


def test_ready_answers_at_once_after_rabbitmq_reset_every_connection(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    with stack_of_its_own(service_urls, tmp_path) as stack:
        vhost = unquote(urlsplit(stack.env["AGENTQ_BROKER_URL"]).path.lstrip("/"))
        ready = stack.base_url + "/ready"
        with ThreadPoolExecutor(16) as pool:
            warm = list(pool.map(lambda _: httpx.get(ready, timeout=10), range(WARM_CALLS)))
        assert {r.status_code for r in warm} == {200}
        before = _api_connections(vhost)
        subprocess.run(
            ["rabbitmqctl", "-q", "close_all_connections", "--vhost", vhost, "test reset"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 10
        while _api_connections(vhost) >= before and time.monotonic() < deadline:
            time.sleep(0.1)  # the broker closes them one by one
        with ThreadPoolExecutor(16) as pool:
            after = list(pool.map(lambda _: httpx.get(ready, timeout=10), range(WARM_CALLS)))
        down = [r.text for r in after if r.status_code != 200]
        assert not down, f"{len(down)} of {WARM_CALLS} /ready calls said down: {down[0]}"
