"""Engine creation, migrations, and retrying a locked or unreachable database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.settings import ConfigurationError

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseURLError(ConfigurationError):
    """A DATABASE_URL that cannot be used; the message says what to write instead."""


def make_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``: SQLite (WAL, foreign keys on, busy timeout) or PostgreSQL."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseURLError(
            f"DATABASE_URL {url!r} is not a database URL; use sqlite+aiosqlite:///path/to/file.db "
            "or postgresql+asyncpg://user@host/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite+aiosqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+asyncpg":
            parsed = parsed.set(drivername="postgresql+asyncpg")
        return create_async_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise DatabaseURLError(
        f"DATABASE_URL uses {backend!r}, which pactwatch does not support; use SQLite "
        "(sqlite+aiosqlite:///…) or PostgreSQL (postgresql+asyncpg://…)"
    )


def check_database_url(url: str) -> list[str]:
    """Problems with a database URL, one line each (for ``check-config``); nothing is connected."""
    try:
        make_url(url)
    except sa.exc.ArgumentError:
        return [
            f"DATABASE_URL: {url!r} is not a database URL; use sqlite+aiosqlite:///path.db or postgresql+asyncpg://…"
        ]
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return [f"DATABASE_URL: {backend!r} is not supported; use SQLite or PostgreSQL"]
    return []


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration up to head."""
    from alembic import command
    from alembic.config import Config

    def _upgrade(sync_conn: sa.Connection) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def is_transient(exc: BaseException) -> bool:
    """A database error worth retrying: locked, busy, connection lost or refused."""
    if isinstance(exc, OperationalError | DBAPIError) and getattr(exc, "connection_invalidated", False):
        return True
    if isinstance(exc, OSError | ConnectionError):
        return True
    text = str(exc).lower()
    return isinstance(exc, OperationalError | DBAPIError) and any(
        s in text
        for s in (
            "database is locked",
            "database is busy",
            "connection refused",
            "connection was closed",
            "connection is closed",
            "could not connect",
            "server closed the connection",
            "cannot connect",
            "too many connections",
            "the database system is starting up",
        )
    )


async def with_retry(
    op: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    what: str,
    base_delay: float = 0.2,
    max_delay: float = 10.0,
) -> T:
    """Run ``op``; on a transient database error wait (exponential backoff) and run it again."""
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return await op()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            log.warning(
                "database busy or unreachable during %s (attempt %d/%d): %s; retrying in %.1fs",
                what,
                attempt,
                attempts,
                type(exc).__name__,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
    raise AssertionError("unreachable")
