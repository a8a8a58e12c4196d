"""Money (``domain.money``): exact decimal dollars, integer micro-dollars in storage."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.money import MICROS_PER_USD, from_micros, to_micros

# The largest amount a signed 64-bit (BIGINT) micro-dollar column can hold.
_MAX_MICROS = 2**63 - 1


def test_a_dollar_is_a_million_micro_dollars() -> None:
    assert MICROS_PER_USD == 1_000_000


@pytest.mark.parametrize(
    ("usd", "micros"),
    [
        ("0", 0),
        ("0.000001", 1),
        ("0.42", 420_000),
        ("1", 1_000_000),
        ("1.5", 1_500_000),
        ("1.50", 1_500_000),
        ("123456.789012", 123_456_789_012),
        ("9223372036854.775807", _MAX_MICROS),
    ],
)
def test_dollars_convert_to_micro_dollars_exactly(usd: str, micros: int) -> None:
    converted = to_micros(Decimal(usd))
    assert converted == micros
    assert type(converted) is int


@pytest.mark.parametrize(
    ("micros", "usd"),
    [
        (0, "0"),
        (1, "0.000001"),
        (420_000, "0.42"),
        (1_500_000, "1.5"),
        (123_456_789_012, "123456.789012"),
        (_MAX_MICROS, "9223372036854.775807"),
    ],
)
def test_micro_dollars_convert_back_to_dollars_exactly(micros: int, usd: str) -> None:
    converted = from_micros(micros)
    assert converted == Decimal(usd)
    assert isinstance(converted, Decimal)


@pytest.mark.parametrize("usd", ["0.0000001", "1.1234567", "0.0000005", "42.00000001"])
def test_an_amount_with_more_than_six_decimal_places_is_refused(usd: str) -> None:
    with pytest.raises(ValueError, match="6 decimal places"):
        to_micros(Decimal(usd))


def test_ten_thousand_additions_of_a_hundredth_of_a_cent_make_exactly_one_dollar() -> None:
    step = Decimal("0.0001")
    total = Decimal(0)
    for _ in range(10_000):
        total += step
    assert total == Decimal(1)
    assert to_micros(total) == MICROS_PER_USD


def test_ten_thousand_additions_in_micro_dollars_make_exactly_one_dollar() -> None:
    total = sum(to_micros(Decimal("0.0001")) for _ in range(10_000))
    assert total == MICROS_PER_USD
    assert from_micros(total) == Decimal(1)


@settings(max_examples=500, deadline=None, database=None)
@given(micros=st.integers(-_MAX_MICROS, _MAX_MICROS))
def test_any_stored_amount_round_trips_through_dollars(micros: int) -> None:
    assert to_micros(from_micros(micros)) == micros


@settings(max_examples=500, deadline=None, database=None)
@given(
    usd=st.decimals(
        min_value=Decimal("-9223372036854.775807"),
        max_value=Decimal("9223372036854.775807"),
        places=6,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_any_amount_of_at_most_six_places_round_trips_through_storage(usd: Decimal) -> None:
    assert from_micros(to_micros(usd)) == usd


@settings(max_examples=300, deadline=None, database=None)
@given(
    whole_micros=st.integers(0, 10**12),
    seventh_digit=st.integers(1, 9),
)
def test_any_amount_with_a_non_zero_seventh_decimal_place_is_refused(
    whole_micros: int, seventh_digit: int
) -> None:
    usd = Decimal(whole_micros * 10 + seventh_digit).scaleb(-7)
    with pytest.raises(ValueError, match="6 decimal places"):
        to_micros(usd)
