"""Shared parts of the request bodies: the base model, time, name and money fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "DECIMAL_TEXT",
    "RFC3339",
    "RFC3339_HINT",
    "Body",
    "EmptyBody",
    "Ident",
    "Label",
    "Name",
    "NotNull",
    "Reason",
    "UtcTime",
    "money_input",
    "money_schema",
    "six_places",
]


#: An RFC 3339 date-time with a zone (``Z`` or ``±hh:mm``), as docs/api.md writes every time.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
RFC3339_HINT = "an RFC 3339 time with a zone, e.g. 2026-04-11T08:14:00Z"


def _rfc3339_text(value: Any) -> Any:
    """Only RFC 3339 text: pydantic alone would take a number or a digit string as epoch
    seconds, and more ISO 8601 forms than the document gives."""
    if not isinstance(value, str) or RFC3339.fullmatch(value) is None:
        raise ValueError(RFC3339_HINT)
    return value


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is out of range once converted to UTC") from exc


UtcTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_to_utc)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Ident = Annotated[str, Field(min_length=1, max_length=40)]
Label = Annotated[str, Field(min_length=1, max_length=100)]
Reason = Annotated[str, Field(max_length=2000)]


#: A PATCH field that may be left out but not set to null (refused with its own message):
#: the document shows it as not nullable.
NotNull = SkipJsonSchema[None]


class Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


#: Money as text: plain decimal digits, at most 6 places (no sign, exponent or spaces).
DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]{1,6})?")
_MONEY_HINT = 'US dollars as a decimal number or string, at most 6 places, e.g. 1.50 or "1.50"'


def money_input(value: Any) -> Any:
    """A JSON number, or a string of the document's pattern; pydantic alone would also take
    ``"1e2"`` (as 100), ``" 1"`` and ``true``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(_MONEY_HINT)
    if isinstance(value, str) and DECIMAL_TEXT.fullmatch(value) is None:
        raise ValueError(_MONEY_HINT)
    return value


def six_places(value: Decimal | None) -> Decimal | None:
    if value is not None and value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValueError("money has at most 6 decimal places")
    return value


def money_schema(schema: dict[str, Any]) -> None:
    """The document says what a decimal string must look like (pydantic leaves it open), and
    the bounds as JSON Schema's ``minimum``/``maximum`` of the number (pydantic writes the
    ``Field``'s ``ge``/``le`` as they are, which no JSON Schema reader knows)."""
    low, high = schema.pop("ge", None), schema.pop("le", None)
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "string":
            branch["pattern"] = f"^{DECIMAL_TEXT.pattern}$"
        if branch.get("type") == "number":
            if low is not None:
                branch["minimum"] = int(low) if low == int(low) else float(low)
            if high is not None:
                branch["maximum"] = int(high) if high == int(high) else float(high)
    schema["description"] = "US dollars, at most 6 decimal places (a number or a string)."


class EmptyBody(Body):
    """A body with no fields (any field is refused)."""
