"""An endpoint that keeps failing is disabled after five days, on PostgreSQL, with a fake clock,
and the company's trail has the system's ``webhook_endpoint.disabled`` entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from service.webhooks.delivery import Deliverer
from tests.integration.conftest import Apply
from tests.procs import WEBHOOK_ENV
from tests.receiver import receiver


def test_an_endpoint_failing_for_five_days_straight_is_disabled(
    engine: Engine, settings: Settings, apply: Apply
) -> None:
    # The clock runs ahead of the real one: the run's stacks share this database, and their
    # deliverers (on the real clock) would find a delivery due in the past and attempt it too.
    now = [datetime(2099, 4, 11, 8, 0, tzinfo=UTC)]
    hook_settings = settings.model_copy(
        update={
            "webhook_allow_private": True,
            # The receiver binds an ephemeral port, as on the test stacks.
            "webhook_allowed_ports": WEBHOOK_ENV["AGENTQ_WEBHOOK_ALLOWED_PORTS"],
            "webhook_retry_schedule_s": "0,0,0,0,0,0,0,0",
        }
    )
    sent: list[str] = []
    deliverer = Deliverer(engine, hook_settings, sent.append, clock=lambda: now[0])
    with receiver(lambda _n: (500, 0.0)) as hook:
        company = new_id("cmp")
        assert apply(c.CreateCompany(company, "Flaky"), company).applied
        webhook_id = new_id("whk")
        created = c.CreateWebhook(webhook_id, hook.url, ("issue.*",), "whsec_" + "B" * 32)
        assert apply(created, company).applied
        assert apply(c.CreateIssue(new_id("iss"), "keeps failing"), company).applied
        with engine.connect() as conn:
            (event_id,) = conn.execute(
                sa.select(t.webhook_events.c.id).where(t.webhook_events.c.company_id == company)
            ).scalars()
        (delivery_id,) = deliverer.relay(event_id)

        def endpoint() -> sa.Row[tuple[object, ...]]:
            with engine.connect() as conn:
                return conn.execute(
                    sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == webhook_id)
                ).one()

        assert deliverer.deliver(delivery_id) == "pending"
        assert endpoint().failing_since == now[0]
        now[0] += timedelta(days=3)
        assert deliverer.deliver(delivery_id) == "pending"
        assert endpoint().disabled is False
        now[0] += timedelta(days=2, seconds=1)
        assert deliverer.deliver(delivery_id) == "pending"
        deliverer.close()
    gone = endpoint()
    assert gone.disabled is True and gone.disabled_reason == "failing for 5 days"
    assert len(hook.requests) == 3
    # The company's trail says agentq did it, when, and why (once).
    with engine.connect() as conn:
        (entry,) = conn.execute(
            sa.select(t.activity).where(
                t.activity.c.company_id == company,
                t.activity.c.type == "webhook_endpoint.disabled",
            )
        ).all()
    assert (entry.subject_type, entry.subject_id) == ("webhook_endpoint", webhook_id)
    assert entry.actor == "system:webhooks" and entry.at == now[0]
    assert entry.reason == "failing for 5 days" and entry.issue_id is None
    assert entry.changes == {
        "disabled": {"before": False, "after": True},
        "disabledReason": {"before": None, "after": "failing for 5 days"},
    }
