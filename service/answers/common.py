"""What every answer shares: the base model, problems, 202s, pages, health."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

from service.problems import HTTP_STATUS

__all__ = [
    "Accepted",
    "Answer",
    "CommandStatus",
    "FieldProblem",
    "Health",
    "Index",
    "Json",
    "Page",
    "Problem",
    "Time",
    "Usd",
    "fmt_time",
    "money",
    "wire",
    "wire_of",
]


def fmt_time(value: datetime | None) -> str | None:
    """``2026-04-11T08:14:00.123Z``: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # what the store reads back is UTC already
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(value: Decimal | float | None) -> float | int | None:
    """A JSON number with the decimal's exact digits (money has at most 6 decimal places)."""
    if value is None:
        return None
    if isinstance(value, float):
        value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


#: Money: a JSON number with the exact decimal digits (at most 6 decimal places): ``1``,
#: ``0.35``, never ``1.0`` or a float's rounding.
Usd = Annotated[
    Decimal,
    PlainSerializer(money, return_type=float),
    WithJsonSchema(
        {
            "type": "number",
            "description": "US dollars: a JSON number with at most 6 decimal places, exact.",
        }
    ),
]
#: A time: RFC 3339 in UTC with milliseconds, as ``fmt_time`` writes it.
Time = Annotated[
    datetime,
    PlainSerializer(fmt_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Json = dict[str, Any]


def wire(answer: BaseModel) -> dict[str, Any]:
    """An answer as JSON goes on the wire: camelCase, times and money as above, and only the
    fields the code that built it set (an optional field it left out stays out)."""
    return answer.model_dump(mode="json", by_alias=True, exclude_unset=True)


Convert = Callable[[Any], Any]


def wire_of(model: type[BaseModel]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """``wire(model(**fields))`` without building the model: for answers made many at a time
    (a page of issues) from values the code already trusts (domain values, stored rows).

    Validating a model and dumping it costs ~11 µs an issue, most of it pydantic calling
    ``fmt_time`` back; this calls the same serializers directly. The model stays the one
    definition: the aliases and each field's serializer are read from it, once, and a field
    type this does not know is refused here, when the model is first asked for."""
    plan = tuple(
        (name, info.alias or name, _convert(info.annotation, info.metadata))
        for name, info in model.model_fields.items()
    )

    def dump(fields: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get = fields.get
        for name, alias, convert in plan:
            value = get(name, _UNSET)
            if value is _UNSET:  # left out: unset, so not on the wire (``exclude_unset``)
                continue
            out[alias] = value if convert is None or value is None else convert(value)
        return out

    return dump


_UNSET: Any = object()


def _convert(annotation: Any, metadata: Sequence[Any] = ()) -> Convert | None:
    """How a value of ``annotation`` other than None goes on the wire; None: as it is."""
    serializer = next((m.func for m in metadata if isinstance(m, PlainSerializer)), None)
    if serializer is not None:
        if len(inspect.signature(serializer).parameters) != 1:
            raise TypeError(f"wire_of calls serializers with the value only: {serializer!r}")
        return cast(Convert, serializer)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _convert(args[0], args[1:])
    if origin in (Union, UnionType) and len(args) == 2 and type(None) in args:
        return _convert(next(a for a in args if a is not type(None)))
    if origin is list and len(args) == 1:
        item = _convert(args[0])
        return list if item is None else (lambda values: [item(v) for v in values])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return lambda v: v.value if isinstance(v, Enum) else v
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return wire_of(annotation)
    if annotation in (str, int, bool):
        return None
    raise TypeError(f"wire_of cannot dump a {annotation!r}: use wire()")


class Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class FieldProblem(Answer):
    """One refused field: where (``["body", "title"]``, ``["query", "limit"]``…) and why."""

    loc: list[str | int]
    msg: str


class Problem(Answer):
    """An RFC 9457 problem: every error answer (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: Annotated[str, Field(json_schema_extra={"enum": sorted(HTTP_STATUS)})]
    #: ``invalid_request``: each refused field.
    errors: list[FieldProblem] | None = None
    #: ``invalid_transition``, ``frozen``, ``not_editable``: the status it is in.
    current_status: str | None = None
    #: ``stale_lease`` of a run someone else ended: the agent should stop.
    stop: bool | None = None
    stop_reason: str | None = None
    #: ``budget_exhausted``: the scope whose monthly cap is spent, and the month.
    budget_scope: str | None = None
    budget_scope_id: str | None = None
    month: str | None = None


class Accepted(Answer):
    """Accepted: the command is queued; `Location` is `GET …/commands/{commandId}`."""

    command_id: str
    status: Literal["accepted"]


class CommandStatus(Answer):
    id: str
    status: Literal["accepted", "applied", "rejected"]
    #: ``applied``: the answer the write would have had.
    result: Any = None
    #: ``rejected``: the problem.
    error: Problem | None = None


class Health(Answer):
    status: Literal["ok", "ready"]


class Index(Answer):
    """``GET /``: where to read about the API."""

    name: Literal["agentq"]
    docs: str
    openapi: str
    reference: str


class Page(Answer):
    next_cursor: str | None
    has_more: bool
