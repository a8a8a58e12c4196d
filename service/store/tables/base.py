"""What every table shares: the metadata (with its naming convention), the id type, CHECKs."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

__all__ = ["ID", "in_values", "metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def in_values(column: str, values: type[StrEnum]) -> str:
    """``column IN ('a', 'b')``: the CHECK of a column holding one of ``values``, in their order."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


ID = sa.String(40)
