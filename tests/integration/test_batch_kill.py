"""A commands worker killed (SIGKILL) between a batch's commit and its ack: RabbitMQ hands
the batch to the next worker, which answers the stored outcomes; every command is applied
exactly once and every caller gets its outcome (waiting, or by ``GET /commands/{id}``)."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.conftest import stack_of_its_own
from tests.e2e.client import Api, poll_command
from tests.integration.conftest import wait_until
from tests.procs import ServiceUrls, Stack, spawn

ISSUES, PATCHES = 4, 12
#: Batches on (they are off by default): the stack's workers apply up to 32 at once.
BATCHES = {"AGENTQ_COMMAND_BATCH": "32"}


@pytest.fixture
def no_worker(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[Stack]:
    with stack_of_its_own(service_urls, tmp_path, workers=0, overrides=BATCHES) as stack:
        yield stack


def test_a_worker_killed_between_commit_and_ack_leaves_each_command_applied_once(
    no_worker: Stack, engine: Engine, tmp_path: Path
) -> None:
    arm, marker = tmp_path / "arm", tmp_path / "marker"
    slow = spawn(
        "worker-slow-ack",
        ["-m", "tests.integration.slow_ack_worker"],
        {**no_worker.env, "SLOW_ACK_ARM": str(arm), "SLOW_ACK_MARKER": str(marker)},
        no_worker.log_dir,
    )
    no_worker.processes.append(slow)
    with Api(no_worker.base_url, no_worker.admin_token) as api:
        acme = api.new_company()  # applied by the slow worker, not armed yet
        issues = [acme.issue(f"killed {i}")["id"] for i in range(ISSUES)]
        arm.touch()
        # A batch needs commands waiting on one shard: on a fast machine each would be
        # applied as it arrives. So the worker is held (SIGSTOP) until each issue has two
        # PATCHes waiting, and its first batch has at least two.
        slow.popen.send_signal(signal.SIGSTOP)
        accepted: list[str] = []
        answered: list[int] = []
        lock = threading.Lock()

        def send(issue_id: str) -> None:
            for n in range(PATCHES):
                if n % 3 == 2:  # a caller that waits for its answer (after two that do not)
                    response = acme.call("PATCH", f"/issues/{issue_id}", {"title": f"edit {n}"})
                    with lock:
                        answered.append(response.status_code)
                    if response.status_code == 200:
                        continue
                    assert response.status_code == 202, response.text
                else:
                    response = acme.call(
                        "PATCH",
                        f"/issues/{issue_id}",
                        {"title": f"edit {n}"},
                        headers={"Prefer": "respond-async"},
                    )
                    assert response.status_code == 202, response.text
                with lock:
                    accepted.append(response.json()["commandId"])

        senders = [threading.Thread(target=send, args=(issue,)) for issue in issues]
        for sender in senders:
            sender.start()
        wait_until(lambda: len(accepted) >= 2 * ISSUES, "two PATCHes queued per issue", 30)
        slow.popen.send_signal(signal.SIGCONT)
        wait_until(marker.exists, "a batch committed and waits before its ack", timeout_s=60)
        in_flight = json.loads(marker.read_text())
        with engine.connect() as conn:
            committed = conn.execute(
                sa.select(sa.func.count()).where(t.applied_commands.c.id.in_(in_flight))
            ).scalar_one()
        assert committed == len(in_flight)  # committed before the ack that never comes
        slow.popen.send_signal(signal.SIGKILL)
        assert slow.popen.wait(10) == -signal.SIGKILL
        for sender in senders:
            sender.join(120)
        no_worker.start_worker("worker-commands-after")

        def versions() -> dict[str, int]:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.select(t.issues.c.id, t.issues.c.version).where(t.issues.c.id.in_(issues))
                ).all()
            return {row.id: row.version for row in rows}

        # Each PATCH changes the title once: applied once each, the versions say so.
        wait_until(
            lambda: versions() == {issue: 1 + PATCHES for issue in issues},
            "every PATCH applied",
            timeout_s=120,
        )
        time.sleep(2)  # anything applied twice would show by now
        with engine.connect() as conn:
            per_command = dict(
                conn.execute(
                    sa.select(t.activity.c.command_id, sa.func.count())
                    .where(t.activity.c.issue_id.in_(issues), t.activity.c.type == "issue.updated")
                    .group_by(t.activity.c.command_id)
                ).all()
            )
        assert len(per_command) == ISSUES * PATCHES and set(per_command.values()) == {1}
        assert versions() == {issue: 1 + PATCHES for issue in issues}
        assert set(in_flight) <= set(per_command)
        # Every caller has its outcome: those that waited got it, the others read it.
        assert answered and all(status in (200, 202) for status in answered)
        for command_id in accepted:
            outcome = poll_command(acme, f"{acme.prefix}/commands/{command_id}", timeout_s=30)
            assert outcome["status"] == "applied", outcome
