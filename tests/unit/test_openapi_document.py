"""The OpenAPI document as served: every operation named, tagged, described and resolvable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.openapi import TAGS
from service.settings import Settings
from service.webhooks.outbox import EVENT_TYPES


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(Settings(data_dir=Path(tmp_path_factory.mktemp("doc"))))
    return app.openapi_schema.to_schema()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_stable_id_a_tag_a_summary_and_a_description(
    document: dict[str, Any],
) -> None:
    tags = {tag.name for tag in TAGS}
    ids = []
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z]+_[a-z]+", operation["operationId"]), where
        assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, where
        assert operation["summary"] and "\n" not in operation["summary"], where
        assert operation["description"], where
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids)) and len(ids) >= 49


def test_every_reference_resolves_to_a_schema_of_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', str(document).replace("'", '"'))
    assert refs
    assert sorted(set(refs) - set(schemas)) == []


def test_only_the_index_health_and_readiness_need_no_token(document: dict[str, Any]) -> None:
    open_paths = {p for p, _, op in _operations(document) if op["security"] == []}
    assert open_paths == {"/", "/health", "/ready"}
    for path, method, operation in _operations(document):
        if path not in open_paths:
            assert operation["security"] == [{"bearer": []}], f"{method} {path}"
            assert "401" in operation["responses"], f"{method} {path}"
        assert "400" not in operation["responses"], f"{method} {path}: we answer 422"


def test_the_webhooks_section_has_one_entry_per_event_type(document: dict[str, Any]) -> None:
    assert set(document["webhooks"]) == EVENT_TYPES
    event = document["components"]["schemas"]["WebhookEvent"]
    assert set(event["properties"]["type"]["enum"]) == EVENT_TYPES


def test_a_body_is_required_only_when_its_model_requires_a_field(
    document: dict[str, Any],
) -> None:
    bodies = {
        op["operationId"]: op["requestBody"]["required"]
        for _, _, op in _operations(document)
        if "requestBody" in op
    }
    assert bodies["issues_create"] is True
    assert bodies["issues_update"] is False and bodies["agents_claim"] is False


def test_money_bounds_are_json_schema_keywords(document: dict[str, Any]) -> None:
    usd = document["components"]["schemas"]["CostBody"]["properties"]["usd"]
    assert "ge" not in usd and "le" not in usd
    number = next(b for b in usd["anyOf"] if b.get("type") == "number")
    assert number["minimum"] == 0 and number["maximum"] == 1_000_000


def test_each_example_body_is_one_its_model_takes(document: dict[str, Any]) -> None:
    from api import schemas
    from api.examples import EXAMPLES

    for name, example in EXAMPLES.items():
        getattr(schemas, name).model_validate(example)
        assert document["components"]["schemas"][name]["examples"] == [example], name
    assert {"IssueCreate", "ClaimBody", "CheckpointBody", "CostBody"} <= set(EXAMPLES)
