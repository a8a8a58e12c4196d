"""Integration tests run on the real PostgreSQL, RabbitMQ and Redis of this test run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain import commands as c
from service.db.engine import make_engine
from service.envelope import Envelope, Outcome
from service.ids import new_id
from service.pipeline import Applier
from service.settings import Settings
from tests.conftest import stack_of_its_own
from tests.procs import ServiceUrls, Stack


@pytest.fixture(scope="session")
def settings(service_urls: ServiceUrls) -> Settings:
    return Settings(**{k.removeprefix("AGENTQ_").lower(): v for k, v in service_urls.env().items()})


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def applier(engine: Engine) -> Applier:
    """Applies commands in this process; outcomes are dropped (nobody waits on them)."""
    return Applier(engine, lambda _reply_to, _outcome: None)


Apply = Callable[..., Outcome]


@pytest.fixture
def apply(applier: Applier) -> Apply:
    """``apply(command, company_id=…)``: one command through the real pipeline, here."""

    def run(command: Any, company_id: str | None = None, **env: Any) -> Outcome:
        return applier.apply(Envelope(new_id("cmd"), company_id, "user:test", command, **env))

    return run


@pytest.fixture
def company(apply: Apply) -> str:
    company_id = new_id("cmp")
    assert apply(c.CreateCompany(company_id, "Acme"), company_id).applied
    return company_id


def count(engine: Engine, query: sa.Select[Any]) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        )


@pytest.fixture(scope="module")
def distributed(
    service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The distributed stack (API, two commands workers, webhooks, scheduler) for this
    module, on a vhost of its own: the e2e suite's stack never takes its messages."""
    log_dir: Path = tmp_path_factory.mktemp("distributed")
    with stack_of_its_own(service_urls, log_dir, workers=2) as stack:
        yield stack
