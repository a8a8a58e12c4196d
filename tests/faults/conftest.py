"""The fault suite runs on the real PostgreSQL, RabbitMQ and Redis of this test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from service.settings import Settings
from service.store.engine import make_engine
from tests.procs import ServiceUrls


@pytest.fixture
def engine(service_urls: ServiceUrls) -> Iterator[Engine]:
    """Reads the history the stack wrote (it survives the database's restart: pre-ping)."""
    settings = Settings(
        **{k.removeprefix("AGENTQ_").lower(): v for k, v in service_urls.env().items()}
    )
    eng = make_engine(settings, pool_size=2)
    yield eng
    eng.dispose()
