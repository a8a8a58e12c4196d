"""Signed list cursors (issue #13): a cursor is good for the list it came from and no other."""

from __future__ import annotations

import pytest

from domain.errors import InvalidRequest
from service.reads.pagination import cursor_key, encode_cursor, open_cursor, sign_cursor

KEY = cursor_key("aq_op_secret")
SCOPE = "/v1/companies/cmp_1/issues?status=queued"


def _refused(key: bytes, scope: str, cursor: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        open_cursor(key, scope, cursor)
    assert [list(e.loc) for e in caught.value.errors] == [["query", "cursor"]]
    return caught.value


def test_a_signed_cursor_opens_to_its_position_in_its_own_list() -> None:
    from datetime import UTC, datetime

    position = encode_cursor(datetime(2026, 4, 11, tzinfo=UTC), "iss_1")
    cursor = sign_cursor(KEY, SCOPE, position)
    assert open_cursor(KEY, SCOPE, cursor) == position
    assert cursor.isascii() and " " not in cursor


def test_a_cursor_is_refused_by_another_list_filter_company_or_key() -> None:
    cursor = sign_cursor(KEY, SCOPE, "WyJ4IiwieSJd")
    _refused(KEY, "/v1/companies/cmp_1/issues?status=done", cursor)
    _refused(KEY, "/v1/companies/cmp_1/issues?", cursor)
    _refused(KEY, "/v1/companies/cmp_2/issues?status=queued", cursor)
    _refused(KEY, "/v1/companies/cmp_1/agents?status=queued", cursor)
    _refused(cursor_key("another operator token"), SCOPE, cursor)


def test_anything_else_is_refused_as_not_ours() -> None:
    good = sign_cursor(KEY, SCOPE, "WyJ4IiwieSJd")
    position, mac = good.split(".")
    for cursor in [
        "",
        "AA",
        position,
        f"{position}.",
        f".{mac}",
        f"{position}x.{mac}",
        f"{position}.{mac}x",
        f"{position}.{mac[:-1]}",
        "ü" + good,
        good + "." + mac,
        "A" * 2000 + "." + mac,
    ]:
        _refused(KEY, SCOPE, cursor)
