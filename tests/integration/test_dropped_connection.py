"""The commands pool's engine has no pre-ping: a pooled connection the server dropped is met
by the command itself, which the applier retries in place (nothing lost, nothing twice)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.envelope import Envelope, Outcome
from service.commands.pipeline import Applier
from service.ids import new_id
from service.settings import Settings
from service.store import tables as t
from service.store.engine import make_engine
from tests.integration.conftest import count


@pytest.fixture
def unpinged(settings: Settings) -> Iterator[Engine]:
    """The commands pool's engine: one connection, never pinged."""
    engine = make_engine(settings, pool_size=1, pre_ping=False)
    yield engine
    engine.dispose()


def _drop_pooled_connection(engine: Engine, settings: Settings) -> None:
    """The server ends the pooled connection (as a restart would), behind the pool's back."""
    with engine.connect() as conn:
        pid = conn.execute(sa.select(sa.func.pg_backend_pid())).scalar_one()
    url = sa.make_url(settings.sqlalchemy_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def test_a_command_that_meets_a_dropped_connection_is_retried_and_applied_once(
    unpinged: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[Outcome] = []
    applier = Applier(unpinged, lambda _to, outcome: outcomes.append(outcome))
    company = new_id("cmp")
    assert applier.apply(
        Envelope(new_id("cmd"), company, "user:test", c.CreateCompany(company, "A"))
    ).applied
    _drop_pooled_connection(unpinged, settings)

    issue = new_id("iss")
    command = Envelope(
        new_id("cmd"), company, "user:test", c.CreateIssue(issue, "after"), success_status=201
    )
    caplog.clear()  # the company's own log line, at INFO if another test left that level on
    with caplog.at_level(logging.WARNING, logger="agentq.pipeline"):
        outcome = applier.apply(command)

    # The command itself met the dropped connection (no ping did), and was retried.
    assert [r.action for r in caplog.records] == ["retry"]  # type: ignore[attr-defined]

    assert outcome.applied and outcome.http_status == 201
    assert [o.command_id for o in outcomes] == [outcomes[0].command_id, command.command_id]
    assert count(unpinged, sa.select(t.issues.c.id).where(t.issues.c.id == issue)) == 1
    applied = sa.select(t.applied_commands.c.id).where(
        t.applied_commands.c.id == command.command_id
    )
    assert count(unpinged, applied) == 1
