"""Which database errors the command pipeline waits out (retrying in place for as long as it
takes) and which it retries a few times before dead-lettering."""

from __future__ import annotations

import sqlite3

import psycopg
from psycopg import errors
from sqlalchemy.exc import OperationalError

from service.store.errors import database_unreachable


def _wrapped(orig: Exception) -> OperationalError:
    return OperationalError("SELECT 1", {}, orig)


def test_a_connection_that_failed_or_was_cut_is_the_database_being_unreachable() -> None:
    assert database_unreachable(_wrapped(psycopg.OperationalError("connection failed")))
    assert database_unreachable(_wrapped(errors.AdminShutdown()))  # 57P01: server stopping
    assert database_unreachable(_wrapped(errors.CannotConnectNow()))  # 57P03: starting up
    assert database_unreachable(_wrapped(errors.ConnectionFailure()))  # 08006


def test_a_statement_that_failed_is_not_the_database_being_unreachable() -> None:
    assert not database_unreachable(_wrapped(errors.SerializationFailure()))
    assert not database_unreachable(_wrapped(errors.DeadlockDetected()))
    assert not database_unreachable(_wrapped(errors.QueryCanceled()))


def test_sqlite_errors_are_never_waited_out() -> None:
    assert not database_unreachable(_wrapped(sqlite3.OperationalError("database is locked")))
