"""Integration tests run on the real PostgreSQL, RabbitMQ and Redis of this test run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from domain import commands as c
from service.commands.envelope import Envelope, Outcome
from service.commands.pipeline import Applier
from service.ids import new_id
from service.settings import Settings
from service.store.engine import make_engine
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


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s}s: {what}"
        time.sleep(0.1)


def scrape(stack: Stack, name: str, **labels: str) -> float:
    """A metric sample's value summed over the stack's running processes that serve a
    ``/metrics`` of their own (commands workers, schedulers), and over any label not given;
    0 where it has not been recorded yet. Sweeps are not this stack's to count: the stacks of
    a run share one database, so one scheduler of the whole run leads (an advisory lock)."""
    total = 0.0
    for process in stack.processes:
        if process.metrics_port is None or process.popen.poll() is not None:
            continue
        response = httpx.get(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=10)
        assert response.status_code == 200, (process.name, response.text)
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += float(sample.value)
    return total
