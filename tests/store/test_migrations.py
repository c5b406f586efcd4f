"""The Alembic migrations create exactly the schema in ``bot/store/tables.py``, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store.repo import Store
from bot.store.tables import metadata


async def test_migrations_match_the_tables(db_url: str) -> None:
    store = await Store.open(db_url)
    try:

        def diff(conn: sa.Connection) -> list[Any]:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(ctx, metadata))

        async with store.engine.connect() as conn:
            changes = await conn.run_sync(diff)
        assert changes == [], f"migrations and tables.py disagree: {changes}"
        # Migrating again is a no-op.
        await Store.open(db_url)
    finally:
        await store.close()


async def test_timestamps_come_back_utc_aware(store: Store) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    seoul = timezone(timedelta(hours=9))
    t = datetime(2026, 6, 19, 9, 0, tzinfo=seoul)
    await store.upsert_subscription(platform="console", channel="c", now=t)
    sub = await store.get_subscription("console", "c")
    assert sub is not None
    assert sub.created_at == t and sub.created_at.tzinfo is not None
    assert sub.created_at.utcoffset() == timedelta(0) and sub.created_at.hour == 0
    assert sub.created_at == datetime(2026, 6, 19, 0, 0, tzinfo=UTC)
