"""A claim whose only claimable issue is locked for a moment by another command waits for it
instead of answering "no work" (204)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.envelope import Outcome
from service.commands.handlers.runs import LOCKED_WAIT_S
from service.ids import new_id
from service.store import tables as t
from tests.integration.conftest import Apply


def _hold_row_lock(engine: Engine, issue_id: str, held: threading.Event, hold_s: float) -> None:
    with engine.begin() as conn:
        conn.execute(sa.select(t.issues.c.id).where(t.issues.c.id == issue_id).with_for_update())
        held.set()
        time.sleep(hold_s)


def _claim_while_locked(
    apply: Apply, company: str, engine: Engine, hold_s: float
) -> tuple[Outcome, str, float]:
    """An agent's only issue, locked from another connection for ``hold_s``, while the agent
    claims: the claim's outcome, the issue, and how long the claim took (s)."""
    agent, issue = new_id("agt"), new_id("iss")
    assert apply(c.CreateAgent(agent, "a1"), company).applied
    assert apply(c.CreateIssue(issue, "locked", assigned_agent_id=agent), company).applied
    held = threading.Event()
    locker = threading.Thread(target=_hold_row_lock, args=(engine, issue, held, hold_s))
    locker.start()
    assert held.wait(10)
    started = time.monotonic()
    claimed = apply(c.ClaimWork(agent, new_id("run"), lease_seconds=60), company)
    waited_s = time.monotonic() - started
    locker.join()
    return claimed, issue, waited_s


def test_a_claim_waits_for_an_issue_another_command_holds_locked(
    apply: Apply, company: str, engine: Engine
) -> None:
    claimed, issue, _ = _claim_while_locked(apply, company, engine, hold_s=0.2)
    assert claimed.http_status == 200, claimed.body
    assert claimed.body["issue"]["id"] == issue


def test_a_claim_gives_up_on_a_lock_held_longer_than_its_wait_and_finds_no_work(
    apply: Apply, company: str, engine: Engine
) -> None:
    hold_s = LOCKED_WAIT_S + 1.0
    claimed, _, waited_s = _claim_while_locked(apply, company, engine, hold_s)
    assert claimed.http_status == 204
    assert LOCKED_WAIT_S <= waited_s < hold_s
