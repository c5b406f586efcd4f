"""Engine creation, migrations, and retrying a locked or unreachable database."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
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
MIGRATION_LOCK_KEY = 0x70617463_68  # "patch": the advisory lock migrations take on PostgreSQL


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
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseURLError(
                    f"the folder {folder} for the database file cannot be created ({exc.strerror}); point "
                    "PACTWATCH_DATA_DIR or DATABASE_URL at a writable place"
                ) from None
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

    # Two processes starting on a fresh database must not both create the tables: one migrates, the
    # other waits, then finds the schema at head and does nothing.
    async with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade)


@contextlib.asynccontextmanager
async def _migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """For SQLite, an exclusive lock on a file beside the database (PostgreSQL uses an advisory lock)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as lock:  # noqa: ASYNC230 - opening a lock file
        await asyncio.to_thread(fcntl.flock, lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


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


def describe_db_error(exc: BaseException) -> str:
    """A database failure in one line: the driver's own first line, without SQLAlchemy's wrapping (no
    SQL, no parameters, no background link)."""
    inner = getattr(exc, "orig", None) or exc.__cause__ or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return f"{type(inner).__name__}: {text}"[:300]


def _sqlite_file_problem(database: str | None) -> str | None:
    """Why a SQLite database file that does not exist yet could not be created, or None."""
    if database in (None, "", ":memory:"):
        return None
    path = Path(database)
    if path.exists():
        return None if os.access(path, os.W_OK) else f"the database file {path} is read-only"
    folder = next((p for p in path.parents if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK):
        return f"the database file {path} cannot be created: {folder or path.parent} is not a writable folder"
    return None


async def probe_database(url: str, *, within: float) -> str | None:
    """Connect to ``url`` and run ``SELECT 1`` within ``within`` seconds; one sentence when that fails
    (for ``check-config``). Creates nothing: a SQLite file that does not exist yet is checked by its
    folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return await asyncio.to_thread(_sqlite_file_problem, parsed.database)
    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(within):
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
    except TimeoutError:
        return f"the database did not answer within {within:g} seconds"
    except Exception as exc:
        return f"cannot connect to the database: {describe_db_error(exc)}"
    finally:
        await engine.dispose()
    return None
