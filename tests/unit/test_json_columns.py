"""JSON columns are read back by msgspec, with the json module's answer for every input."""

from __future__ import annotations

import json

import pytest

from service.store.engine import json_loads

SAMPLES = [
    '["backend", "priority:high"]',
    '{"a": {"b": [1, 2.5, -0.0, 1e-7, null, true, false]}, "é": "\\u00e9\\n"}',
    "123456789012345678901234567890",  # past 64 bits: msgspec reads it too
    '{"spent": 1e400}',  # past a float's range: msgspec refuses, json reads inf
    '{"k": 1, "k": 2}',  # a repeated key: the last one, as json says
    '"\\ud800"',  # a lone surrogate: msgspec refuses, json reads it
]


@pytest.mark.parametrize("text", SAMPLES)
def test_a_json_column_reads_as_the_json_module_reads_it(text: str) -> None:
    assert json_loads(text) == json.loads(text)
    assert json_loads(text.encode("utf-8", "surrogatepass")) == json.loads(text)
