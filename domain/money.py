"""Money is exact: decimal US dollars in the domain, integer micro-dollars in storage."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["MICROS_PER_USD", "from_micros", "to_micros"]

#: Storage unit: one micro-dollar (1e-6 USD). Amounts with finer precision are refused.
MICROS_PER_USD = 1_000_000


def to_micros(usd: Decimal) -> int:
    """Exact conversion; raises ``ValueError`` if ``usd`` has more than 6 decimal places."""
    micros = usd * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise ValueError("at most 6 decimal places")
    return int(micros)


def from_micros(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_USD).normalize() if micros else Decimal(0)
