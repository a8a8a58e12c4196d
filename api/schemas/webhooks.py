"""Request bodies of webhook endpoints, and the event filters they subscribe with."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from api.schemas.common import Body, NotNull

__all__ = ["EventFilter", "EventFilters", "WebhookCreate", "WebhookPatch", "WebhookUrl"]


def _event_choices(schema: dict[str, Any]) -> None:
    """The document lists the event types a filter may name (the validator checks them)."""
    from service.webhooks.outbox import EVENT_FILTERS

    schema["enum"] = sorted(EVENT_FILTERS)


EventFilter = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra=_event_choices)]
EventFilters = Annotated[list[EventFilter], Field(max_length=20, json_schema_extra={"minItems": 1})]
#: http or https (the document says so; ``api.routes.webhooks`` checks it is a public address).
WebhookUrl = Annotated[
    str, Field(min_length=1, max_length=2000, json_schema_extra={"pattern": "^https?://"})
]


def _known_events(value: list[str] | None) -> list[str] | None:
    from service.webhooks.outbox import EVENT_FILTERS

    if value is not None:
        unknown = [e for e in value if e not in EVENT_FILTERS]
        if unknown:
            raise ValueError(
                f"unknown event type {unknown[0]!r}; use one of the list, or a family of them: "
                "issue.*, approval.* or budget.*"
            )
        if not value:
            raise ValueError("name at least one event type (or issue.*)")
    return value


class WebhookCreate(Body):
    url: WebhookUrl
    events: EventFilters
    description: Annotated[str, Field(max_length=500)] | None = None

    _events = field_validator("events")(_known_events)


class WebhookPatch(Body):
    url: WebhookUrl | NotNull = None
    events: EventFilters | NotNull = None
    disabled: Annotated[bool, Field(strict=True)] | NotNull = None
    description: Annotated[str, Field(max_length=500)] | None = None

    _events = field_validator("events")(_known_events)

    @model_validator(mode="after")
    def _not_null(self) -> WebhookPatch:
        for name in ("url", "events", "disabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self
