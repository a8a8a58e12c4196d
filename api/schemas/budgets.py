"""Request bodies of spending limits: an issue's per-task budget and a monthly cap."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from api.schemas.common import Body, NotNull, money_input, money_schema, six_places

__all__ = ["Budget", "BudgetCapBody"]


class Budget(Body):
    per_task_usd: (
        Annotated[
            Decimal,
            BeforeValidator(money_input),
            Field(ge=0, le=Decimal("1000000000"), json_schema_extra=money_schema),
        ]
        | None
    ) = None

    #: The subtasks' spend (all the way down) counts against ``perTaskUsd`` too.
    include_subtasks: Annotated[bool, Field(strict=True)] | NotNull = None

    _places = field_validator("per_task_usd")(six_places)

    @field_validator("include_subtasks", mode="before")
    @classmethod
    def _include_not_null(cls, value: Any) -> Any:
        if value is None:  # only given values are validated: leaving it out is fine
            raise ValueError("includeSubtasks may not be null: true or false")
        return value


def _cap_input(value: Any) -> Any:
    if value is None:
        raise ValueError("monthlyUsd may not be null: DELETE the budget to remove its cap")
    return money_input(value)


class BudgetCapBody(Body):
    """A monthly cap: what the scope may spend per UTC calendar month."""

    monthly_usd: Annotated[
        Decimal,
        BeforeValidator(_cap_input),
        Field(ge=0, le=Decimal("1000000000"), json_schema_extra=money_schema),
    ]

    _places = field_validator("monthly_usd")(six_places)
