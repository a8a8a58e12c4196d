"""``docs/reference.md``: every operation and every object of the OpenAPI document, as text.

``python -m api.reference`` writes it from the document the API serves, and a unit test
fails when the file in the repository differs from what the code would write, so the
reference in docs/ is as true as the document (whose tests check it against the code).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["render", "served_document"]

HEADER = """# agentq API reference (generated)

Every operation and every object of the OpenAPI document (`/schema/openapi.json`), written
by `python -m api.reference > docs/reference.md` from the code; a test fails when this file
is out of date. The conventions (auth, errors, idempotency, `If-Match`, pagination, 202), the
state machine and the choices are in [api.md](api.md).
"""


def served_document() -> dict[str, Any]:
    """The document exactly as ``create_app`` serves it (built in-process, embedded)."""
    from api.app import create_app
    from service.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)))
        document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    """A field's type as a reader wants it: ``string (date-time)``, ``[Issue](#issue)``…"""
    if "$ref" in schema:
        name = _name(schema["$ref"])
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        shown = " or ".join(_type(b) for b in branches)
        return shown + (" or null" if len(branches) < len(schema["anyOf"]) else "")
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" or kind is None:
        return "object" if kind or "properties" in schema else "any JSON"
    return f"{kind} ({schema['format']})" if "format" in schema else str(kind)


_RULES = {
    "minLength": "≥ {} chars",
    "maxLength": "≤ {} chars",
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "minItems": "≥ {} items",
    "maxItems": "≤ {} items",
    "pattern": "matches `{}`",
    "default": "default `{}`",
}


def _rules(schema: dict[str, Any]) -> str:
    parts = [rule.format(schema[key]) for key, rule in _RULES.items() if key in schema]
    for branch in schema.get("anyOf", []):
        parts += [rule.format(branch[key]) for key, rule in _RULES.items() if key in branch]
        parts += [branch["description"]] if "description" in branch else []
    parts += [schema["description"]] if "description" in schema else []
    return "; ".join(dict.fromkeys(parts)).replace("|", "\\|")


def _object(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    if "enum" in schema:
        return [*lines, "One of " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".", ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, "An object with no fields.", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | rules |", "|---|---|---|---|"]
    for field, prop in properties.items():
        shown = "yes" if field in required else ""
        lines.append(f"| `{field}` | {_type(prop)} | {shown} | {_rules(prop)} |")
    if schema.get("additionalProperties") is False:
        lines += ["", "Any other field is refused (422)."]
    return [*lines, ""]


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`: {op['summary']}", "", op["description"], ""]
    lines.append(f"`operationId`: `{op['operationId']}`. " + _auth(op))
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        need = "required" if body.get("required") else "optional (empty is `{}`)"
        lines.append(f"Body: {_type(schema)}, {need}.")
    params = [p for p in op.get("parameters", []) if p["in"] in {"query", "header"}]
    if params:
        lines += ["", "| parameter | in | type | description |", "|---|---|---|---|"]
        for p in params:
            text = (p.get("description") or "").replace("|", "\\|")
            lines.append(f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | {text} |")
    lines += ["", "| status | answer |", "|---|---|"]
    for status, answer in op["responses"].items():
        content = answer.get("content") or {}
        schema = next(iter(content.values()))["schema"] if content else None
        shown = _type(schema) if schema else "no body"
        text = " ".join(answer.get("description", "").split()).replace("|", "\\|")
        lines.append(f"| {status} | {shown}: {text} |")
    return [*lines, ""]


def _auth(op: dict[str, Any]) -> str:
    return "No token." if op.get("security") == [] else "`Authorization: Bearer <token>`."


def render(document: dict[str, Any]) -> str:
    lines = [HEADER, "## Operations", ""]
    order = [tag["name"] for tag in document.get("tags", [])]
    operations = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    for tag in order:
        mine = [(p, m, op) for p, m, op in operations if op["tags"][0] == tag]
        if not mine:
            continue
        described = next(t.get("description", "") for t in document["tags"] if t["name"] == tag)
        lines += [f"## {tag}", "", described, ""]
        for path, method, op in mine:
            lines += _operation(path, method, op)
    lines += ["## Webhook events", ""]
    for kind in document.get("webhooks", {}):
        lines.append(f"- `{kind}`: the body is a [WebhookEvent](#webhookevent).")
    lines += ["", "## Objects", ""]
    for name, schema in sorted(document["components"]["schemas"].items()):
        lines += _object(name, schema)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(served_document()))
