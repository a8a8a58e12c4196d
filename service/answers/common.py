"""What every answer shares: the base model, problems, 202s, pages, health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
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
]


#: Money: a JSON number with the exact decimal digits (at most 6 decimal places).
Usd = Annotated[
    float,
    Field(description="US dollars: a JSON number with at most 6 decimal places, exact."),
]
Time = datetime
Json = dict[str, Any]


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
