"""One table of resource kinds (``service.kinds``): each kind's id prefix, table, path
parameter and log field, which the ids, the logs and the API's access checks read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_routes import served_routes

from service.kinds import (
    BY_PATH_PARAM,
    COMPANY,
    KINDS,
    LOG_FIELDS,
    OTHER_PATH_PARAMS,
    Kind,
    kind_of,
)
from service.observability.logs import ID_FIELDS
from service.store.tables import metadata

ROOT = Path(__file__).resolve().parents[2]


def test_no_two_kinds_share_a_name_a_prefix_a_path_parameter_or_a_log_field() -> None:
    for column in ("name", "prefix", "path_param", "log_field"):
        values = [getattr(k, column) for k in KINDS if getattr(k, column) is not None]
        assert len(values) == len(set(values)), column
    assert len(KINDS) == 16


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_kind_makes_ids_that_read_back_as_it(kind: Kind) -> None:
    ident = kind.new_id()
    assert ident.startswith(f"{kind.prefix}_") and len(ident) == len(kind.prefix) + 27
    assert kind_of(ident) is kind


def test_a_string_that_is_no_kinds_id_has_no_kind() -> None:
    assert [kind_of(s) for s in ("", "iss", "issue_1", "req_01", "x_iss_1")] == [None] * 5


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_kind_lives_in_its_table_and_a_named_one_in_its_company(kind: Kind) -> None:
    table = metadata.tables[kind.table]
    assert "id" in table.c
    if kind.path_param is not None and kind is not COMPANY:
        assert "company_id" in table.c  # what the API's cross-company check looks up


def test_the_documented_id_prefixes_are_kinds() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"`([a-z]+)_` [a-z]", text))
    assert len(documented) >= 13
    assert documented <= {k.prefix for k in KINDS}


def test_log_lines_carry_the_ids_of_the_kinds_table_in_its_order() -> None:
    # service.observability.logs puts these first, in this order (agent_id, once among the
    # other fields, is now the last of them).
    assert (
        ID_FIELDS
        == LOG_FIELDS
        == (
            "company_id",
            "issue_id",
            "command_id",
            "run_id",
            "bulk_id",
            "webhook_id",
            "agent_id",
            "routine_id",
        )
    )


def test_every_id_the_api_takes_in_a_path_is_a_kinds_path_parameter(tmp_path: Path) -> None:
    params = {
        param
        for _, path in served_routes(tmp_path)
        if path.startswith("/v1/")  # not the schema's {path}
        for param in re.findall(r"\{(\w+):str\}", path)
    }
    assert len(params) >= 11
    assert sorted(params - set(BY_PATH_PARAM) - OTHER_PATH_PARAMS) == []
