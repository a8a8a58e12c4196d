"""A claim whose only claimable issue is locked for a moment by another command waits for it
instead of answering "no work" (204)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.db import tables as t
from service.handlers.runs import LOCKED_WAIT_S
from service.ids import new_id
from tests.integration.conftest import Apply


def _hold_row_lock(engine: Engine, issue_id: str, held: threading.Event, hold_s: float) -> None:
    with engine.begin() as conn:
        conn.execute(sa.select(t.issues.c.id).where(t.issues.c.id == issue_id).with_for_update())
        held.set()
        time.sleep(hold_s)


def test_a_claim_waits_for_an_issue_another_command_holds_locked(
    apply: Apply, company: str, engine: Engine
) -> None:
    agent, issue = new_id("agt"), new_id("iss")
    assert apply(c.CreateAgent(agent, "a1"), company).applied
    assert apply(c.CreateIssue(issue, "locked a moment", assigned_agent_id=agent), company).applied
    held = threading.Event()
    locker = threading.Thread(target=_hold_row_lock, args=(engine, issue, held, 0.2))
    locker.start()
    assert held.wait(10)
    claimed = apply(c.ClaimWork(agent, new_id("run"), lease_seconds=60), company)
    locker.join()
    assert claimed.http_status == 200, claimed.body
    assert claimed.body["issue"]["id"] == issue


def test_a_claim_gives_up_on_a_lock_held_longer_than_its_wait_and_finds_no_work(
    apply: Apply, company: str, engine: Engine
) -> None:
    agent, issue = new_id("agt"), new_id("iss")
    assert apply(c.CreateAgent(agent, "a1"), company).applied
    assert apply(c.CreateIssue(issue, "locked long", assigned_agent_id=agent), company).applied
    held = threading.Event()
    hold_s = LOCKED_WAIT_S + 1.0
    locker = threading.Thread(target=_hold_row_lock, args=(engine, issue, held, hold_s))
    locker.start()
    assert held.wait(10)
    started = time.monotonic()
    claimed = apply(c.ClaimWork(agent, new_id("run"), lease_seconds=60), company)
    waited_s = time.monotonic() - started
    locker.join()
    assert claimed.http_status == 204
    assert LOCKED_WAIT_S <= waited_s < hold_s
