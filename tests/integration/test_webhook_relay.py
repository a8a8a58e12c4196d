"""The outbox's relay and a delivery chain on PostgreSQL: a burst's events are fanned out in
batches, each endpoint gets a few jobs (not one per delivery), and one job drains the
endpoint's backlog in event order, writing the endpoint's row only when its health changes.

The deliverer's clock runs far ahead of the real one: the run's stacks share this database,
and their schedulers (on the real clock) would otherwise find these deliveries due."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from service.webhooks.delivery import MAX_IN_FLIGHT_PER_ENDPOINT, Deliverer
from tests.integration.conftest import Apply
from tests.procs import WEBHOOK_ENV
from tests.receiver import Receiver, receiver

LATER = datetime(2099, 6, 1, 9, 0, tzinfo=UTC)


def _deliverer(engine: Engine, settings: Settings, sent: list[str]) -> Deliverer:
    hook_settings = settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_allowed_ports": WEBHOOK_ENV["AGENTQ_WEBHOOK_ALLOWED_PORTS"],
        }
    )
    return Deliverer(engine, hook_settings, sent.append, clock=lambda: LATER)


def _company_with_events(
    engine: Engine, apply: Apply, hook: Receiver, issues: int
) -> tuple[str, str, list[str]]:
    """A company with one endpoint and ``issues`` issues created: its id, the endpoint's id and
    the ``issue.created`` events in the order they were written."""
    company = new_id("cmp")
    assert apply(c.CreateCompany(company, "Burst"), company).applied
    webhook_id = new_id("whk")
    endpoint = c.CreateWebhook(webhook_id, hook.url, ("issue.created",), "whsec_" + "C" * 32)
    assert apply(endpoint, company).applied
    for i in range(issues):
        assert apply(c.CreateIssue(new_id("iss"), f"issue {i}"), company).applied
    return company, webhook_id, _events(engine, company)


def _events(engine: Engine, company: str) -> list[str]:
    e = t.webhook_events.c
    with engine.connect() as conn:
        query = sa.select(e.id).where(e.company_id == company).order_by(e.created_at, e.id)
        return list(conn.execute(query).scalars())


def _deliveries(engine: Engine, company: str) -> list[Any]:
    d = t.webhook_deliveries.c
    with engine.connect() as conn:
        query = sa.select(t.webhook_deliveries).where(d.company_id == company).order_by(d.id)
        return list(conn.execute(query).all())


def _endpoint_row(engine: Engine, webhook_id: str) -> Any:
    with engine.connect() as conn:
        query = sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == webhook_id)
        return conn.execute(query).one()


def test_one_relay_job_fans_out_the_companys_waiting_events_and_sends_a_few_jobs(
    engine: Engine, settings: Settings, apply: Apply
) -> None:
    sent: list[str] = []
    deliverer = _deliverer(engine, settings, sent)
    with receiver() as hook:
        company, _, events = _company_with_events(engine, apply, hook, issues=6)
        made = deliverer.relay(events[2])
        # Every waiting event of the company, one delivery each, in event order; jobs for the
        # endpoint's first deliveries only (each attempt that ends takes the next).
        rows = _deliveries(engine, company)
        assert made == [row.id for row in rows] and [row.event_id for row in rows] == events
        assert sent == made[:MAX_IN_FLIGHT_PER_ENDPOINT]
        # The other events' jobs relay nothing again: in this process from memory, in
        # another (a deliverer of its own) from the database.
        others = _deliverer(engine, settings, sent)
        assert all(deliverer.relay(event) == [] for event in events)
        assert all(others.relay(event) == [] for event in events)
        assert len(_deliveries(engine, company)) == len(events)
        assert len(sent) == MAX_IN_FLIGHT_PER_ENDPOINT
        deliverer.close()
        others.close()


def test_one_delivery_job_drains_a_fast_endpoints_backlog_in_event_order(
    engine: Engine, settings: Settings, apply: Apply
) -> None:
    sent: list[str] = []
    deliverer = _deliverer(engine, settings, sent)
    with receiver() as hook:
        company, webhook_id, events = _company_with_events(engine, apply, hook, issues=5)
        deliverer.relay(events[0])
        before = _endpoint_row(engine, webhook_id)
        assert deliverer.deliver(sent[0]) == "succeeded"
        deliverer.close()
    assert [r.headers["webhook-id"] for r in hook.requests] == events
    rows = _deliveries(engine, company)
    assert {(row.status, row.attempt, row.locked_until) for row in rows} == {("succeeded", 1, None)}
    # A healthy endpoint's row is not rewritten by each delivery that succeeds.
    after = _endpoint_row(engine, webhook_id)
    assert after.updated_at == before.updated_at and after.failing_since is None


def test_an_endpoint_never_has_more_than_its_attempts_in_flight_however_many_jobs_race(
    engine: Engine, settings: Settings, apply: Apply
) -> None:
    """Every delivery's job at once (as duplicates and the sweep could send them): the
    attempts that end pass their slot on, the others take one under the endpoint's lock, and
    the receiver never has more than ``MAX_IN_FLIGHT_PER_ENDPOINT`` requests at a time."""
    answer_s = 0.2
    sent: list[str] = []
    deliverer = _deliverer(engine, settings, sent)
    with receiver(lambda _n: (200, answer_s)) as hook:
        company, _, events = _company_with_events(engine, apply, hook, issues=10)
        made = deliverer.relay(events[0])
        with ThreadPoolExecutor(len(made)) as pool:
            list(pool.map(deliverer.deliver, made))
        deliverer.close()
    assert sorted(r.headers["webhook-id"] for r in hook.requests) == sorted(events)
    assert {row.status for row in _deliveries(engine, company)} == {"succeeded"}
    # Each request is answered answer_s after it arrives, and a slot's next request comes
    # after that answer: with 2 slots, any 3 arrivals in a row span at least answer_s.
    arrivals = sorted(r.at for r in hook.requests)
    window = MAX_IN_FLIGHT_PER_ENDPOINT
    spans = [arrivals[i + window] - arrivals[i] for i in range(len(arrivals) - window)]
    assert min(spans) >= answer_s * 0.95, spans
