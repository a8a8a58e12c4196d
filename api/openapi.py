"""The OpenAPI document (``/schema/openapi.json``): every operation's body, answers and errors.

Handlers read their bodies themselves (``api.io.parse_body``), so that bad input is our own 422
problem rather than Litestar's validation error, and they return ``Response[Any]``. Left alone,
Litestar would document no request body, an empty answer, and a 400 that is never sent. So each
route handler describes its operation with ``operation_class=documented(...)`` (Litestar's hook
for shaping an operation): the body model it validates with, the answers it gives, the error
statuses it can answer with, and the query and header parameters it reads.

The schemas are pydantic's own: the request bodies of ``api.schemas`` (camelCase, with
``additionalProperties: false`` since unknown fields are refused) and the answers of
``api.resources``. ``add_schemas`` puts them in ``components/schemas`` once the app is built:
Litestar fills that section only with the types it generated itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, cast

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.io import PROBLEM_JSON
from api.resources import Accepted, Problem

__all__ = [
    "ADMIN_LIST",
    "ADMIN_READ",
    "BEARER",
    "IDEMPOTENT",
    "LIST",
    "ON_ISSUE",
    "PAGE",
    "READ",
    "WRITE",
    "add_schemas",
    "as_command",
    "documented",
    "moment",
    "text",
]

JSON = "application/json"

#: The security scheme every ``/v1`` operation requires (``Authorization: Bearer <token>``).
BEARER = {
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        description="The operator token (AGENTQ_ADMIN_TOKEN), a company admin token or an "
        "agent token.",
    )
}

#: What each error status means here (every one is ``application/problem+json``).
ERRORS: dict[int, str] = {
    401: "`unauthorized`: no token, or one that is unknown or revoked.",
    403: "`forbidden`: this token may not do this (an agent token on an admin action, or on "
    "another agent's run).",
    404: "`not_found`: no such resource in this company (another company's is not found either).",
    409: "A conflict with the resource's state: `invalid_transition` (with `currentStatus`), "
    "`frozen`, `not_editable`, `stale_lease` (with `stop` and `stopReason` when the run was "
    "ended by someone else), `blocked`, `at_capacity` or `agent_unavailable`.",
    412: "`precondition_failed`: `If-Match` names another version.",
    413: "`payload_too_large`: request bodies are limited to 1 MiB.",
    422: "`invalid_request` (each refused field in `errors`), or `idempotency_conflict`.",
    429: "`rate_limited`: this token's allowance for the window is spent (`Retry-After`).",
    503: "`unavailable`: the database, the broker or the result store is down (`Retry-After`).",
}

#: The error statuses of a read (of a list, whose query is checked: 422 too), of an
#: admin-only read (an agent token: 403) and of a write.
READ = (401, 404, 429, 503)
LIST = (*READ, 422)
ADMIN_READ = (401, 403, 404, 429, 503)
ADMIN_LIST = (*ADMIN_READ, 422)
WRITE = (401, 403, 404, 409, 412, 413, 422, 429, 503)


def _string(**constraints: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, **constraints)


def text(description: str, **constraints: Any) -> Schema:
    """A string query parameter (an empty one is refused: leave it out instead)."""
    return _string(description=description, **{"min_length": 1, **constraints})


def moment(description: str) -> Schema:
    """A time query parameter (RFC 3339, with a zone)."""
    return _string(format=OpenAPIFormat.DATE_TIME, description=description, min_length=1)


#: ``?cursor=&limit=`` of every list.
PAGE: dict[str, Schema] = {
    "cursor": _string(description="`nextCursor` of the previous page."),
    "limit": Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=200, default=50),
}

#: Request headers a write may carry (see docs/api.md "Conventions").
HEADERS: dict[str, Parameter] = {
    "Idempotency-Key": Parameter(
        name="Idempotency-Key",
        param_in="header",
        schema=_string(min_length=1, max_length=255),
        description="The same key with the same body within 24 h answers the first answer "
        "again and applies nothing twice; with another body, 422 `idempotency_conflict`.",
    ),
    "If-Match": Parameter(
        name="If-Match",
        param_in="header",
        schema=_string(examples=['"7"']),
        description='The issue\'s ETag as GET returned it (`"<version>"`): 412 when it differs.',
    ),
    "Prefer": Parameter(
        name="Prefer",
        param_in="header",
        schema=_string(examples=["respond-async"]),
        description="`respond-async`: answer 202 at once instead of waiting for the outcome.",
    ),
}
Header = Literal["Idempotency-Key", "If-Match", "Prefer"]
#: The request headers of a write: any write, and one on an issue (which honours ``If-Match``).
IDEMPOTENT: tuple[Header, ...] = ("Idempotency-Key", "Prefer")
ON_ISSUE: tuple[Header, ...] = ("Idempotency-Key", "If-Match", "Prefer")

#: Answer headers.
_RETRY_AFTER: dict[str, OpenAPIHeader | Reference] = {
    "Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER))
}
_LOCATION: dict[str, OpenAPIHeader | Reference] = {
    "Location": OpenAPIHeader(
        schema=_string(), description="Where to follow the command (or the bulk job)."
    )
}
_COMMAND_ID: dict[str, OpenAPIHeader | Reference] = {
    "Command-Id": OpenAPIHeader(
        schema=_string(),
        description="The command this write became (`GET …/commands/{id}`, `commandId` in "
        "the activity trail).",
    )
}

#: Every model a documented operation names: (model, mode) -> how it is referred to.
_MODELS: dict[tuple[type[BaseModel], JsonSchemaMode], str] = {}
_computed: tuple[int, dict[str, Any]] | None = None


def _register(model: type[BaseModel], mode: JsonSchemaMode) -> None:
    _MODELS.setdefault((model, mode), "")


def _schemas() -> tuple[dict[tuple[type[BaseModel], JsonSchemaMode], str], dict[str, Any]]:
    """Each registered model's ``$ref``, and the ``components/schemas`` entries (pydantic's)."""
    global _computed  # noqa: PLW0603 - computed once all the routes have been declared
    if _computed is None or _computed[0] != len(_MODELS):
        keys = list(_MODELS)
        refs, top = models_json_schema(keys, ref_template="#/components/schemas/{model}")
        for key in keys:
            _MODELS[key] = refs[key]["$ref"]
        defs = top.get("$defs", {})
        for schema in defs.values():  # pydantic titles each property after its Python name
            for prop in schema.get("properties", {}).values():
                prop.pop("title", None)
        _computed = (len(_MODELS), defs)
    return _MODELS, _computed[1]


def _ref(model: type[BaseModel], mode: JsonSchemaMode) -> Reference:
    return Reference(_schemas()[0][(model, mode)])


def _content(model: type[BaseModel] | None, media_type: str = JSON) -> Any:
    if model is None:
        return None
    return {media_type: OpenAPIMediaType(schema=_ref(model, "serialization"))}


def _body_required(model: type[BaseModel]) -> bool:
    """An empty body is ``{}``: a body is required only when the model has required fields."""
    return any(field.is_required() for field in model.model_fields.values())


def documented(
    *,
    answers: Mapping[int, type[BaseModel] | None],
    errors: Iterable[int],
    body: type[BaseModel] | None = None,
    query: Mapping[str, Schema] | None = None,
    headers: Iterable[Header] = (),
    accepted: bool = False,
    auth: bool = True,
) -> type[Operation]:
    """The ``operation_class`` of a route: ``answers`` maps each success status to the model of
    its JSON body (None: no body), ``errors`` the problem statuses it may answer with; ``body``
    is the model ``parse_body`` validates with; ``query`` the query parameters it reads;
    ``headers`` the request headers it honours; ``accepted``: it may answer 202 (a queued
    command); ``auth``: it needs a bearer token."""
    if body is not None:
        _register(body, "validation")
    for model in (*answers.values(), Problem, Accepted):
        if model is not None:
            _register(model, "serialization")
    error_statuses = tuple(errors)
    statuses = {*answers, *error_statuses, *((202,) if accepted else ())}
    header_names = tuple(headers)
    query_params = dict(query or {})

    @dataclass
    class Documented(Operation):
        def __post_init__(self) -> None:
            responses: dict[str, OpenAPIResponse | Reference] = {}
            for status in sorted(statuses):
                responses[str(status)] = _response(status, answers, error_statuses, accepted)
            self.responses = responses
            if body is not None:
                self.request_body = RequestBody(
                    content={JSON: OpenAPIMediaType(schema=_ref(body, "validation"))},
                    required=_body_required(body),
                    description=(body.__doc__ or "").strip() or None,
                )
            parameters = [p for p in self.parameters or [] if isinstance(p, Parameter)]
            parameters += [
                Parameter(
                    name=name, param_in="query", schema=schema, description=schema.description
                )
                for name, schema in query_params.items()
            ]
            parameters += [HEADERS[name] for name in header_names]
            self.parameters = cast(Any, parameters or None)
            self.security = [{"bearer": []}] if auth else None

    return Documented


def as_command(
    body: type[BaseModel] | None,
    answer: type[BaseModel] | None,
    status: int = 200,
    *,
    headers: Iterable[Header] = IDEMPOTENT,
) -> type[Operation]:
    """A write that becomes a command: ``answer`` (None: no body) with ``status`` once it is
    applied, 202 while it is queued, and the errors of a write."""
    return documented(
        body=body, answers={status: answer}, errors=WRITE, headers=headers, accepted=True
    )


def _response(
    status: int,
    answers: Mapping[int, type[BaseModel] | None],
    errors: tuple[int, ...],
    command: bool,
) -> OpenAPIResponse:
    if status in errors:
        return OpenAPIResponse(
            description=ERRORS[status],
            content=_content(Problem, PROBLEM_JSON),
            headers=_RETRY_AFTER if status in {429, 503} else None,
        )
    model = answers.get(status, Accepted if status == 202 else None)
    description = HTTPStatus(status).phrase
    if model is not None and model.__doc__ and model.__module__ == "api.resources":
        description = " ".join(model.__doc__.split())
    headers = {**(_COMMAND_ID if command else {}), **(_LOCATION if status == 202 else {})}
    return OpenAPIResponse(
        description=description, content=_content(model), headers=headers or None
    )


def add_schemas(openapi: OpenAPI) -> OpenAPI:
    """Put the schemas of every documented body and answer in ``components/schemas``."""
    defs = _schemas()[1]
    schemas = cast(dict[str, Any], openapi.components.schemas)
    clash = sorted(set(defs) & set(schemas))
    if clash:
        raise RuntimeError(f"schema names defined twice: {', '.join(clash)}")
    schemas.update(defs)
    openapi.components.security_schemes = {
        **(openapi.components.security_schemes or {}),
        **BEARER,
    }
    return openapi
