"""What a database error means: the database out of reach, the request's own data, or a bug.

The command pipeline waits out an unreachable database (retrying in place); the API answers
503 only for a database that is out of reach or out of resources, 422 for a value the
database refused (SQLSTATE class 22, data exceptions), and 500 for anything else."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["caused_by_data", "database_unavailable", "database_unreachable"]

#: SQLite's answers while another connection holds the file (its busy timeout ran out).
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def database_unreachable(error: OperationalError) -> bool:
    """PostgreSQL could not be reached or cut the connection (no SQLSTATE, class 08, or the
    server shutting down or starting: 57P0x), as opposed to a statement that failed."""
    if not isinstance(error.orig, psycopg.OperationalError):
        return False  # SQLite's errors are statement-level
    state = error.orig.sqlstate
    return error.connection_invalidated or state is None or state[:2] == "08" or state[:3] == "57P"


def database_unavailable(error: SQLAlchemyError) -> bool:
    """The database cannot serve anyone just now: out of reach, out of resources (SQLSTATE
    class 53: too many connections, out of memory or disk), no pooled connection free in
    time, or (SQLite) the file still locked by another writer."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, OperationalError):
        return False
    orig = error.orig
    if isinstance(orig, psycopg.OperationalError):
        return database_unreachable(error) or (orig.sqlstate or "")[:2] == "53"
    return isinstance(orig, sqlite3.OperationalError) and str(orig).startswith(_SQLITE_BUSY)


def caused_by_data(error: SQLAlchemyError) -> bool:
    """The request's own data made the statement fail (SQLSTATE class 22, or a value the
    driver could not send), whatever the state of the database."""
    if isinstance(error, DataError):
        return True
    return isinstance(error, StatementError) and isinstance(error.orig, UnicodeError)
