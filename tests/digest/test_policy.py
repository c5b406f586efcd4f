"""The alert policy: hourly cap, quiet hours, once per story per channel, max age — nothing dropped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import Services
from bot.digest.policy import in_quiet_hours
from bot.models import PAYLOAD_ADAPTER, Digest, Summary
from tests.conftest import FakeClock
from tests.digest.conftest import article, ingest


def treaty(i: int, clock: FakeClock, **kw: Any) -> Any:
    return article(
        i, f"North Korea Russia treaty development number {i} in Pyongyang", published=clock(), **kw
    )


async def statuses(svc: Services, sub_id: int) -> list[tuple[str, str]]:
    return [(r.kind, r.status) for r in await svc.store.deliveries_for(sub_id)]


async def test_hourly_cap_holds_the_rest_and_summarises_them(
    services: Callable[..., Any], db_url: str, clock: FakeClock
) -> None:
    async with services(
        database_url=db_url, alerts_per_channel_per_hour=2, summary_interval_minutes=60
    ) as svc:
        sub = await svc.store.upsert_subscription(
            platform="console", channel="cap", now=clock(), alerts="facts"
        )
        await ingest(svc, [treaty(i, clock, source=f"S{i}") for i in range(5)])
        assert await statuses(svc, sub.id) == [("alert", "pending")] * 2 + [("alert", "held")] * 3
        # Within the hour the cap still holds.
        clock.advance(minutes=30)
        await ingest(svc, [treaty(9, clock, source="S9")])
        assert (await statuses(svc, sub.id))[-1] == ("alert", "held")
        # No digest schedule here: the held alerts go out as one summary after the interval.
        assert await svc.summaries.send() == 0
        clock.advance(minutes=61)
        assert await svc.summaries.send() == 1
        rows = await svc.store.deliveries_for(sub.id)
        summary = PAYLOAD_ADAPTER.validate_json(rows[-1].payload)
        assert isinstance(summary, Summary) and len(summary.lines) == 4
        assert [r.status for r in rows].count("rolled") == 4 and await svc.summaries.send(force=True) == 0
        # A new hour: alerts flow again.
        await ingest(svc, [treaty(10, clock, source="S10")])
        assert (await statuses(svc, sub.id))[-1] == ("alert", "pending")


async def test_held_alerts_roll_into_the_next_digest(
    services: Callable[..., Any], db_url: str, clock: FakeClock
) -> None:
    async with services(database_url=db_url, alerts_per_channel_per_hour=1) as svc:
        sub = await svc.store.upsert_subscription(
            platform="console", channel="d", now=clock(), alerts="facts", digest_cron="0 8 * * *"
        )
        await ingest(svc, [treaty(i, clock, source=f"S{i}") for i in range(3)])
        clock.advance(minutes=5)
        assert await svc.summaries.send(force=True) == 0, "a digest channel gets them in its digest"
        assert await svc.digests.now(sub) == 3
        rows = await svc.store.deliveries_for(sub.id)
        assert [r.status for r in rows if r.kind == "alert"] == ["pending", "rolled", "rolled"]
        d = PAYLOAD_ADAPTER.validate_json(rows[-1].payload)
        assert isinstance(d, Digest)
        assert sorted(s.alerted for sec in d.sections for s in sec.stories) == [False, False, True]


async def test_quiet_hours_hold_alerts_until_they_end(svc: Services, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 23:00 in Seoul
    sub = await svc.store.upsert_subscription(
        platform="console",
        channel="q",
        now=clock(),
        alerts="facts",
        timezone="Asia/Seoul",
        quiet_start="22:00",
        quiet_end="07:00",
    )
    await ingest(svc, [treaty(1, clock)])
    assert await statuses(svc, sub.id) == [("alert", "held")]
    clock.advance(hours=2)
    assert await svc.summaries.send(force=True) == 0, "still quiet at 01:00 Seoul"
    clock.now = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)  # 07:30 in Seoul
    assert await svc.summaries.send(force=True) == 1
    assert [s for _, s in await statuses(svc, sub.id)] == ["rolled", "pending"]


def test_quiet_hours_wrap_midnight_in_local_time() -> None:
    from bot.store.repo import SubscriptionRow

    now = datetime(2026, 11, 2, tzinfo=UTC)
    sub = SubscriptionRow(
        id=1,
        platform="console",
        tenant="",
        channel="c",
        facts=None,
        alerts="all",
        digest_cron=None,
        timezone="Europe/Berlin",
        mention_role=None,
        empty_digest="skip",
        quiet_start="22:00",
        quiet_end="07:00",
        paused=False,
        paused_reason=None,
        origin="chat",
        last_digest_at=None,
        created_at=now,
    )
    berlin = {h: in_quiet_hours(sub, now.replace(hour=h)) for h in range(24)}  # CET = UTC+1
    assert [h for h, q in berlin.items() if q] == [0, 1, 2, 3, 4, 5, 21, 22, 23]


async def test_a_story_alerts_once_per_channel_whichever_copy_comes_first(
    svc: Services, clock: FakeClock
) -> None:
    from tests.digest.wirecopies import copies

    sub = await svc.store.upsert_subscription(platform="console", channel="o", now=clock(), alerts="all")
    items = copies(1, 4, seed=2, start=clock() - timedelta(minutes=30))
    arts = [it.article for it in items]
    # KeywordMatcher needs both countries named and the fact word.
    await ingest(svc, arts[:2])
    clock.advance(minutes=10)
    await ingest(svc, arts[2:])
    assert await statuses(svc, sub.id) == [("alert", "pending")]


async def test_old_items_never_alert(svc: Services, clock: FakeClock) -> None:
    sub = await svc.store.upsert_subscription(platform="console", channel="a", now=clock(), alerts="all")
    old = article(1, "North Korea Russia treaty archive piece", published=clock() - timedelta(hours=49))
    await ingest(svc, [old])
    assert await statuses(svc, sub.id) == []
    assert await svc.digests.now(sub) == 0  # stored in this window but first seen at now: next window
    clock.advance(minutes=1)
    assert await svc.digests.now(sub) == 1, "it still reaches the digest"
