"""Routines: issues created on a cron schedule (``POST /routines``), paused, changed,
deleted, and the issues each created."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody
from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from api.io import json_response, read_page
from api.openapi import ADMIN_LIST, ADMIN_READ, reads, writes
from api.routing import Cursor, Limit, PathId, Send, admin, created_in
from api.schemas import Body, Budget, Ident, Label, NotNull
from api.services import services
from domain import commands as c
from domain.priorities import Priority
from domain.routines import CatchUp, check_cron
from service import kinds
from service.answers.routines import Routine, RoutinePage, RoutineRunPage
from service.reads import routines

__all__ = ["RoutineController", "RoutineCreate", "RoutinePatch", "RoutineTemplateBody"]

Req = Request[Any, Any, Any]
Cron = Annotated[str, Field(min_length=1, max_length=200)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Paris"])]


class RoutineTemplateBody(Body):
    """The issue each tick creates. ``{date}``, ``{time}`` and ``{datetime}`` in the title
    become the tick's local date (``2026-04-13``) and time (``09:00``)."""

    # 480, not 500: room for the placeholders to grow into a date and time.
    title: Annotated[str, Field(min_length=1, max_length=480)]
    description: Annotated[str, Field(max_length=100_000)] | None = None
    assigned_team_id: Ident | None = None
    assigned_agent_id: Ident | None = None
    labels: Annotated[list[Label], Field(max_length=50)] = []
    budget: Budget | None = None
    priority: Priority | None = None
    max_attempts: Annotated[int, Field(ge=1, le=100, strict=True)] = 3

    @model_validator(mode="after")
    def _one_assignee(self) -> RoutineTemplateBody:
        if self.assigned_team_id is not None and self.assigned_agent_id is not None:
            raise ValueError("assignedTeamId or assignedAgentId, not both")
        return self


def _zone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone name (such as Europe/Paris): {value}") from exc
    return value


class RoutineCreate(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    #: Five fields: minute hour day-of-month month day-of-week (``0 9 * * 1-5``).
    cron: Cron
    timezone: TimeZone = "UTC"
    template: RoutineTemplateBody
    catch_up: CatchUp = CatchUp.SKIP
    paused: Annotated[bool, Field(strict=True)] = False

    _zone = field_validator("timezone")(_zone)


class RoutinePatch(Body):
    name: Annotated[str, Field(min_length=1, max_length=200)] | NotNull = None
    cron: Cron | NotNull = None
    timezone: TimeZone | NotNull = None
    template: RoutineTemplateBody | NotNull = None
    catch_up: CatchUp | NotNull = None
    paused: Annotated[bool, Field(strict=True)] | NotNull = None

    _zone = field_validator("timezone")(_zone)

    @model_validator(mode="after")
    def _not_null(self) -> RoutinePatch:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{to_camel(name)} may not be null")
        return self


def _template(body: RoutineTemplateBody) -> dict[str, Any]:
    """The template as stored and shown: camelCase, without what was left unset."""
    return body.model_dump(mode="json", by_alias=True, exclude_none=True)


class RoutineController(Controller):
    path = "/routines"
    tags = ["routines"]
    guards = [admin]

    @post("", operation_id="routines_create", **writes())
    async def create_routine(
        self, cid: PathId, send: Send, data: JSONBody[RoutineCreate]
    ) -> Response[Routine]:
        """Create a routine

        From its next tick on, each tick of `cron` (in `timezone`) creates an issue from
        `template`; `catchUp` says what ticks missed while agentq was down create."""
        check_cron(data.cron, ZoneInfo(data.timezone), ["cron"])
        command = c.CreateRoutine(
            kinds.ROUTINE.new_id(),
            data.name,
            data.cron,
            data.timezone,
            _template(data.template),
            data.catch_up.value,
            data.paused,
        )
        return await send(command, status=201, location=created_in(cid, "routines"))

    @get("", operation_id="routines_list", **reads(ADMIN_LIST))
    async def list_routines(
        self, request: Req, cid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[RoutinePage]:
        """List routines

        Newest first, paused ones included."""
        return json_response(await read_page(request, routines.list_routines, cid))

    @get("/{rtid:str}", operation_id="routines_get", **reads(ADMIN_READ))
    async def get_routine(self, request: Req, cid: PathId, rtid: PathId) -> Response[Routine]:
        """Get a routine

        Its schedule, template, whether it is paused, and its next tick."""
        return json_response(await services(request).read(routines.get_routine, cid, rtid))

    @patch("/{rtid:str}", operation_id="routines_update", **writes())
    async def update_routine(
        self, rtid: PathId, send: Send, data: JSONBody[RoutinePatch]
    ) -> Response[Routine]:
        """Update a routine

        Pause it (`paused: true`), resume it (its next tick from now: ticks while paused
        create nothing), or change its schedule, template or catch-up."""
        fields = data.model_fields_set
        if data.cron is not None:  # checked again with the stored time zone when applied
            check_cron(data.cron, ZoneInfo(data.timezone or "UTC"), ["cron"])
        command = c.UpdateRoutine(
            rtid,
            frozenset(fields),
            name=data.name,
            cron=data.cron,
            timezone=data.timezone,
            template=None if data.template is None else _template(data.template),
            catch_up=None if data.catch_up is None else data.catch_up.value,
            paused=data.paused,
        )
        return await send(command)

    @delete("/{rtid:str}", status_code=200, operation_id="routines_delete", **writes(success=204))
    async def delete_routine(self, rtid: PathId, send: Send) -> Response[None]:
        """Delete a routine

        No tick creates anything any more; the issues it created stay."""
        return await send(c.DeleteRoutine(rtid), status=204)

    @get("/{rtid:str}/runs", operation_id="routines_runs", **reads(ADMIN_LIST))
    async def list_routine_runs(
        self, request: Req, cid: PathId, rtid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[RoutineRunPage]:
        """List what a routine created

        The issues its ticks created, newest first, with the tick each was for."""
        return json_response(await read_page(request, routines.list_routine_runs, cid, rtid))
