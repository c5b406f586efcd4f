"""Not-modified feeds are recorded in batches: one transaction for many, the lease released (issue 16)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.models import FeedSpec
from bot.store.batch import UnchangedBatch
from bot.store.repo import Store, UnchangedPoll

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


async def test_unchanged_feeds_recorded_together_and_released(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    try:
        feeds = [
            await store.ensure_feed(FeedSpec(url=f"https://e.test/{i}", name=f"f{i}"), NOW) for i in range(5)
        ]
        for f in feeds:
            assert await store.claim_feed(f.id, owner="me", now=NOW, lease_seconds=300) is not None
        writes: list[int] = []
        real = store.record_unchanged_feeds

        async def counting(polls: list[UnchangedPoll]) -> None:
            writes.append(len(polls))
            await real(polls)

        store.record_unchanged_feeds = counting  # type: ignore[method-assign,assignment]
        batch = UnchangedBatch(store, size=3, delay=0.01)
        later = NOW + timedelta(minutes=5)
        await asyncio.gather(
            *(
                batch.record(UnchangedPoll(f.id, NOW, later, f'"e{f.id}"', None, None, seeded=True))
                for f in feeds
            )
        )
        assert sorted(writes) == [2, 3]  # five feeds, two transactions
        for f in feeds:
            row = await store.get_feed(f.id)
            assert row is not None
            assert row.etag == f'"e{f.id}"' and row.seeded and row.failure_count == 0
            assert row.last_success_at is not None
            # The lease is released: another process may claim it at once.
            assert await store.claim_feed(f.id, owner="other", now=NOW, lease_seconds=300) is not None
    finally:
        await store.close()
