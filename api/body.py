"""Request bodies: JSON that can be stored and served back, validated by the handler's model.

Litestar reads a handler's ``data`` through ``JsonRequest.json`` and validates it with the
model the handler names. A body that is not a JSON object, or holds what no answer could
carry back, is refused here with our 422; the model's own errors reach ``api.errors``, which
locates each in the body as sent (``body_errors``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from litestar import Request
from litestar.plugins.pydantic import PydanticInitPlugin
from pydantic import BaseModel, ValidationError

from domain.errors import FieldError, InvalidRequest

__all__ = [
    "MAX_DEPTH",
    "JsonRequest",
    "bad_text",
    "body_errors",
    "read_json",
    "shown",
    "unstorable",
]


def body_errors(error: ValidationError, data: Any) -> list[FieldError]:
    """Pydantic's errors, each located in the body as sent. A field that may be left out but
    not be null is a union with None: its "should be None" branch is dropped, and the names
    pydantic gives union branches (``Budget``, ``constrained-str``) are left out of ``loc``."""
    found = error.errors(include_url=False)
    if any(e["type"] != "none_required" for e in found):
        found = [e for e in found if e["type"] != "none_required"]
    errors: list[FieldError] = []
    for e in found:
        field_error = FieldError(_in_body(data, e["loc"]), e["msg"].removeprefix("Value error, "))
        if field_error not in errors:
            errors.append(field_error)
    return errors


def _in_body(data: Any, loc: tuple[str | int, ...]) -> Loc:
    """``loc`` without the parts that name no place in ``data`` (union branch tags); a last
    part naming a key ``data`` lacks (a missing field) is kept."""
    kept: list[str | int] = []
    at = data
    for i, part in enumerate(loc):
        in_list = isinstance(at, list) and isinstance(part, int) and 0 <= part < len(at)
        if in_list or (isinstance(at, dict) and part in at):
            at = at[part]
        elif not (isinstance(at, dict) and i == len(loc) - 1):  # else a missing field
            continue
        kept.append(part)
    return tuple(kept)


def read_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object (an empty body is ``{}``), or 422 saying what is wrong."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest.at([], f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidRequest.at([], "the body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidRequest.at([], "the body must be a JSON object")
    found = unstorable(data)
    if found is not None:
        raise InvalidRequest.at(list(found[0]), found[1])
    return data


class JsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read by ``read_json`` (Litestar's own reader would take
    NaN and refuse an empty body), once: Litestar keeps it for the handler's ``data``, and
    ``api.io.submit`` hashes it for ``Idempotency-Key``."""

    async def body(self) -> bytes:
        # An empty body is ``{}``: Litestar would otherwise find no ``data`` at all.
        raw = await super().body()
        return raw or b"{}"

    async def json(self) -> Any:
        state = self.scope.setdefault("state", {})
        if BODY_STATE not in state:
            state[BODY_STATE] = read_json(await self.body())
        return state[BODY_STATE]


#: Key in the ASGI scope's ``state`` of the request's body as read by ``read_json``.
BODY_STATE = "agentq.body"


#: Deepest nesting of objects and arrays a body may have (the body itself is level 1).
MAX_DEPTH = 32

Loc = tuple[str | int, ...]


def unstorable(value: Any, loc: Loc = (), depth: int = 1) -> tuple[Loc, str] | None:
    """Where a parsed JSON value holds something that cannot be stored or served back, and
    why: a NUL character (PostgreSQL text cannot hold one), a lone UTF-16 surrogate (no
    UTF-8 encoding exists), a number that is not finite (``NaN``, ``Infinity``, ``1e309``:
    not JSON), or nesting deeper than ``MAX_DEPTH``. Keys are checked as values are."""
    if isinstance(value, str):
        reason = bad_text(value)
        return None if reason is None else (loc, reason)
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return loc, "numbers must be finite (NaN, Infinity and values beyond 1.8e308 are not JSON)"
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return loc, f"objects and arrays may be nested at most {MAX_DEPTH} levels deep"
    if isinstance(value, dict):
        for key, item in value.items():
            reason = bad_text(key)
            if reason is not None:
                return (*loc, shown(key)), f"a key: {reason}"
            found = unstorable(item, (*loc, key), depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = unstorable(item, (*loc, i), depth + 1)
            if found is not None:
                return found
    return None


def shown(text: str) -> str:
    """``text`` as an answer can carry it: a lone surrogate written as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "text may not contain the NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "text may not contain a lone UTF-16 surrogate (\\ud800-\\udfff unpaired)"
    return None


def _validate(model: type[BaseModel], value: Any) -> BaseModel:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise InvalidRequest(body_errors(exc, value)) from exc


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


class BodyModels(PydanticInitPlugin):
    """Litestar's pydantic support, validating a ``data`` model as pydantic alone would: with
    each field's own strictness (Litestar's decoder validates every field leniently, so
    ``"12"`` would pass as a token count), and refusals as our 422, located in the body."""

    @classmethod
    def decoders(cls, validate_strict: bool = False) -> list[tuple[Any, Any]]:
        return [(_is_model, _validate)]
