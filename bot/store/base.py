"""The store's plumbing: one engine, opening and migrating, the typed transaction helpers every part of the
store goes through (``_read``/``_write``, retried on a locked or unreachable database), the dialect's
``INSERT … ON CONFLICT``, and the key/value meta table."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store import tables as t
from bot.store.db import make_engine, migrate, with_retry
from bot.store.locks import held

T = TypeVar("T")
R = TypeVar("R")

Insert = pg.Insert | sqlite_dialect.Insert

# Rows a multi-row INSERT carries (``_insert_returning``): 1,000 rows of 16 columns stay far under the
# drivers' parameter limits (SQLite 32,766, PostgreSQL 32,767).
INSERT_CHUNK = 1000
RETURNING_SQLS_MAX = 256  # statements kept, by table, columns and row count (a feed's new items vary)


class QuotaError(ValueError):
    """A server or workspace is at one of its quotas; the message says which and what to do."""


class Conflict(Exception):
    """Rolls back a write whose precondition no longer holds (raised inside one transaction; see
    ``StoreBase._write_unless_conflict``)."""


class StoreBase:
    """The engine and the helpers the domain mixins build on (``bot.store.repo.Store`` combines them)."""

    def __init__(self, engine: AsyncEngine, *, retry_attempts: int = 8) -> None:
        self.engine = engine
        self.retry_attempts = retry_attempts
        self.dialect = engine.dialect.name
        self._local_locks: dict[int, asyncio.Lock] = {}
        # SQLite has one writer at a time. Writers of this process take turns here instead of all opening
        # a transaction and sleeping in SQLite's busy handler until the writer before them commits (which
        # under load cost more time than the writes: the handler sleeps up to 100 ms a try). Another
        # process writing the same file (a cron ``poll`` beside ``run``) still waits in the busy handler.
        self._writer_turn: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None
        self._insert_sqls: dict[tuple[str, tuple[str, ...]], str] = {}
        self._returning_sqls: dict[tuple[Any, ...], str] = {}
        self._procs: dict[tuple[str, tuple[str, ...]], tuple[Callable[[Any], Any] | None, ...]] = {}

    @classmethod
    async def open(cls, url: str, *, retry_attempts: int = 8) -> Self:
        """A store on the database at ``url``, migrated to the newest schema."""
        engine = make_engine(url)
        store = cls(engine, retry_attempts=retry_attempts)
        await with_retry(lambda: migrate(engine), attempts=retry_attempts, what="migrations")
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def locked(self, key: int) -> AsyncIterator[None]:
        """Hold the database's advisory lock ``key`` for a block (``bot.store.locks``; on SQLite, where one
        process owns the database, only this process's lock). This process's lock comes first, so at most
        one of its connections waits for the database's: many concurrent polls cannot empty the pool."""
        local = self._local_locks.setdefault(key, asyncio.Lock())
        async with local, held(self.engine, key):
            yield

    # --- plumbing ----------------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Insert:
        """INSERT with the dialect's ``on_conflict_do_nothing``/``on_conflict_do_update``."""
        return (pg.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(table)

    async def _read(self, what: str, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``fn`` on a connection outside a transaction, retried (``what`` names it in the log)."""

        async def op() -> T:
            async with self.engine.connect() as conn:
                return await fn(conn)

        return await with_retry(op, attempts=self.retry_attempts, what=what)

    async def _write(self, what: str, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``fn`` in one transaction, committed when it returns, retried as a whole."""

        turn = self._writer_turn or contextlib.nullcontext()

        async def op() -> T:
            async with turn, self.engine.begin() as conn:
                return await fn(conn)

        return await with_retry(op, attempts=self.retry_attempts, what=what)

    async def _count(self, what: str, q: sa.Select[Any]) -> int:
        """The integer a ``SELECT count(*) …`` query ``q`` returns."""

        async def fn(c: AsyncConnection) -> int:
            return int((await c.execute(q)).scalar_one())

        return await self._read(what, fn)

    async def _fetch_all(self, what: str, q: sa.Select[Any], row: Callable[[sa.Row[Any]], R]) -> list[R]:
        """Every row of the query ``q``, each as ``row(r)``."""

        async def fn(c: AsyncConnection) -> list[R]:
            return [row(r) for r in await c.execute(q)]

        return await self._read(what, fn)

    async def _fetch_first(self, what: str, q: sa.Select[Any], row: Callable[[sa.Row[Any]], R]) -> R | None:
        """The first row of the query ``q`` as ``row(r)``; None when there is none."""

        async def fn(c: AsyncConnection) -> R | None:
            r = (await c.execute(q)).first()
            return row(r) if r is not None else None

        return await self._read(what, fn)

    async def _write_unless_conflict(
        self, what: str, fn: Callable[[AsyncConnection], Awaitable[None]]
    ) -> bool:
        """``_write``: True when it committed, False (nothing written) when ``fn`` raised ``Conflict``."""
        try:
            await self._write(what, fn)
        except Conflict:
            return False
        return True

    async def _insert_rows(
        self, c: AsyncConnection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert many rows of plain values (no type conversion: ints and strings) in ``c``'s transaction,
        skipping any that conflict with a unique constraint. One driver-level executemany: SQLAlchemy's
        per-row parameter processing costs more than the insert itself at a few hundred rows a feed."""
        if rows:
            await c.exec_driver_sql(self._insert_sql(table.name, columns), rows)

    def _insert_sql(self, table: str, columns: tuple[str, ...]) -> str:
        key = (table, columns)
        sql = self._insert_sqls.get(key)
        if sql is None:
            sql = self._insert_sqls[key] = (
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {self._marks(len(columns), 1)} "
                "ON CONFLICT DO NOTHING"
            )
        return sql

    def _marks(self, width: int, rows: int) -> str:
        """The driver's placeholders for ``rows`` rows of ``width`` values: ``(?, ?), (?, ?)``."""
        style = self.engine.dialect.paramstyle
        n = width * rows
        marks = {
            "qmark": ["?"] * n,
            "numeric_dollar": [f"${i}" for i in range(1, n + 1)],
            "numeric": [f":{i}" for i in range(1, n + 1)],
            "format": ["%s"] * n,
        }.get(style)
        if marks is None:
            raise RuntimeError(f"The database driver's parameter style {style!r} is not supported.")
        return ", ".join(f"({', '.join(marks[i : i + width])})" for i in range(0, n, width))

    async def _insert_returning(
        self,
        c: AsyncConnection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        conflict: tuple[str, ...] | None,
        returning: tuple[str, ...],
    ) -> list[tuple[Any, ...]]:
        """Insert ``rows`` (values as the table's columns take them: datetimes, booleans) in ``c``'s
        transaction, skipping those that conflict on the unique ``conflict`` columns (if any); returns the
        ``returning`` columns of the rows inserted, in no particular order. Multi-row statements of up to
        ``INSERT_CHUNK`` rows at the driver level, each value through its column type's bind processor:
        what SQLAlchemy's own executemany does, without its bookkeeping per row (the poller's hot path)."""
        if not rows:
            return []
        columns = tuple(rows[0])
        procs = self._bind_processors(table, columns)
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            key = (table.name, columns, conflict, returning, len(chunk))
            sql = self._returning_sqls.get(key)
            if sql is None:
                skip = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
                sql = (
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
                    f"{self._marks(len(columns), len(chunk))}{skip} RETURNING {', '.join(returning)}"
                )
                if len(self._returning_sqls) < RETURNING_SQLS_MAX:
                    self._returning_sqls[key] = sql
            values = [
                value if proc is None else proc(value)
                for row in chunk
                for value, proc in zip(row.values(), procs, strict=True)
            ]
            result = await c.exec_driver_sql(sql, tuple(values))
            out.extend(tuple(r) for r in result)
        return out

    def _bind_processors(
        self, table: sa.Table, columns: tuple[str, ...]
    ) -> tuple[Callable[[Any], Any] | None, ...]:
        key = (table.name, columns)
        procs = self._procs.get(key)
        if procs is None:
            dialect = self.engine.dialect
            # The dialect's own type (SQLite's DATETIME writes a fixed text format), not the generic one.
            procs = self._procs[key] = tuple(
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
            )
        return procs

    async def _insert_new(
        self, c: AsyncConnection, table: sa.Table, values: dict[str, Any], *, unique: list[str]
    ) -> None:
        """Insert one row in ``c``'s transaction unless a row with the same ``unique`` columns exists."""
        await c.execute(self._insert(table).values(**values).on_conflict_do_nothing(index_elements=unique))

    async def _check_quota(self, c: AsyncConnection, table: sa.Table, *, tenant: str, quota: int) -> None:
        """Raise ``QuotaError`` when ``tenant`` already has ``quota`` rows in ``table`` (feeds, watches).

        Writing a meta row first serialises the adds to ``table`` until ``c`` commits (a row lock on
        PostgreSQL, the write lock on SQLite), so the count includes whatever a concurrent add committed
        and two adds at once cannot both pass the last free place."""
        await self._bump(c, f"quota:{table.name}")
        count = (
            await c.execute(sa.select(sa.func.count()).select_from(table).where(table.c.tenant == tenant))
        ).scalar_one()
        if count >= quota:
            raise QuotaError(
                f"this server already has {count} {table.name}, the most allowed; remove one first"
            )

    # --- meta --------------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async def fn(c: AsyncConnection) -> str | None:
            return (await c.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key))).scalar()

        return await self._read("get_meta", fn)

    async def set_meta(self, key: str, value: str) -> None:
        async def fn(c: AsyncConnection) -> None:
            stmt = self._insert(t.meta).values(key=key, value=value)
            await c.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

        await self._write("set_meta", fn)

    async def _bump(self, c: AsyncConnection, key: str) -> None:
        """Give ``key`` a new random value in ``c``'s transaction (a revision others poll for changes)."""
        stmt = self._insert(t.meta).values(key=key, value=uuid.uuid4().hex)
        await c.execute(
            stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value})
        )
