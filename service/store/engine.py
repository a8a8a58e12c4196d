"""The one place that builds a SQLAlchemy engine from settings."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.settings import Settings

__all__ = ["is_sqlite", "json_loads", "make_engine"]

_decoder = msgspec.json.Decoder()


def json_loads(data: str | bytes) -> Any:
    """A JSON column's value: msgspec (a page of 50 issues has 100 such columns, and the json
    module spent ~10% of the page's read on them), else the json module for what msgspec
    refuses and it reads (a number past a float's range, which jsonb's numeric can hold)."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError:
        return json.loads(data)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(settings: Settings, *, pool_size: int = 10, pre_ping: bool = True) -> Engine:
    """PostgreSQL through psycopg 3, or the embedded SQLite file (WAL, foreign keys on).

    ``pre_ping`` tests each connection as it leaves the pool (a round trip per checkout), so
    a connection the server dropped is replaced before use. The commands pool goes without:
    its ``Applier`` retries a command that met a dropped connection (which invalidates the
    whole pool), so the ping would only cost every transaction a round trip."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=20,
            json_deserializer=json_loads,
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        json_deserializer=json_loads,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control so "begin" below can issue BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # ms
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Writers take the write lock up front: no lock upgrade deadlocks between readers.
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN"
    )
