"""The webhook retry schedule and the Retry-After header, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from service.settings import Settings
from service.webhooks.attempt import _retry_after_s
from service.webhooks.delivery import next_delay_s
from service.webhooks.outbox import matches

DEFAULT = Settings(_env_file=None).retry_schedule_s  # type: ignore[call-arg]
NOW = datetime(2026, 4, 11, 8, 14, tzinfo=UTC)


def test_the_default_schedule_is_the_documented_one() -> None:
    assert DEFAULT == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@pytest.mark.parametrize("made", range(8))
def test_each_retry_waits_its_scheduled_delay_within_ten_percent(made: int) -> None:
    low = next_delay_s(made, DEFAULT, rng=lambda: 0.0)
    high = next_delay_s(made, DEFAULT, rng=lambda: 1.0)
    mid = next_delay_s(made, DEFAULT, rng=lambda: 0.5)
    assert low is not None and high is not None
    assert mid == DEFAULT[made]
    assert low == pytest.approx(DEFAULT[made] * 0.9)
    assert high == pytest.approx(DEFAULT[made] * 1.1)


def test_after_the_last_scheduled_attempt_the_delivery_fails() -> None:
    assert next_delay_s(8, DEFAULT) is None
    assert next_delay_s(3, (0, 1, 1)) is None


def test_the_schedule_is_configurable() -> None:
    shrunk = Settings(_env_file=None, webhook_retry_schedule_s="0, 1,2")  # type: ignore[call-arg]
    assert shrunk.retry_schedule_s == (0.0, 1.0, 2.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("Sat, 11 Apr 2026 08:15:00 GMT", 60.0), ("soon", None), ("", None)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, expected: float | None) -> None:
    response = httpx.Response(503, headers={"retry-after": value} if value else {})
    assert _retry_after_s(response, NOW) == expected


@pytest.mark.parametrize(
    ("filters", "kind", "expected"),
    [
        (["issue.*"], "issue.done", True),
        (["issue.done"], "issue.done", True),
        (["issue.done"], "issue.failed", False),
        ([], "issue.done", False),
        (["issue.created", "issue.*"], "issue.progress", True),
    ],
)
def test_subscription_filters_match_exact_types_and_the_wildcard(
    filters: list[str], kind: str, expected: bool
) -> None:
    assert matches(filters, kind) is expected
