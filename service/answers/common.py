"""What every answer shares: the base model, problems, 202s, pages, health."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

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
]


def fmt_time(value: datetime | None) -> str | None:
    """``2026-04-11T08:14:00.123Z``: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
