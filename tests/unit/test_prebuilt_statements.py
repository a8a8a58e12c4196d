"""The statements the hot path builds once must stay cacheable: one SQLAlchemy cannot key
(a multi-row ``VALUES``, say) is compiled anew on every call, which costs more CPU than the
database spends running it."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy.sql.base import Executable

from service.reads import claims as claim_poll
from service.store import claims
from service.store.outcomes import MAX_ACTIVITY_IN_OUTCOME, _insert_outcome

MODULES = [
    "service.store.repo",
    "service.store.activity",
    "service.store.runs",
    "service.store.outcomes",
    "service.commands.context",
    "service.commands.pipeline",
    "service.webhooks.outbox",
    "service.webhooks.delivery",
]


def _prebuilt() -> list[tuple[str, Executable]]:
    found = [
        (f"{name}.{attr}", value)
        for name in MODULES
        for attr, value in vars(importlib.import_module(name)).items()
        if isinstance(value, Executable)
    ]
    found += [("claims.claim_next", claims._one_statement())]
    found += [(f"claims.step_{i}", s) for i, s in enumerate(claims._statements())]
    found += [("claims.worth_claiming", claim_poll._statement())]
    found += [
        (f"outcomes.insert({n}, {heard})", _insert_outcome(n, heard))
        for n in range(MAX_ACTIVITY_IN_OUTCOME + 1)
        for heard in (False, True)
    ]
    return found


@pytest.mark.parametrize(("name", "statement"), _prebuilt())
def test_a_prebuilt_statement_has_a_cache_key(name: str, statement: Executable) -> None:
    assert statement._generate_cache_key() is not None, name  # type: ignore[attr-defined]
