"""The digest scheduler: time zones across DST, the fall-back double fire, misfires, and
digest windows across a restart (nothing twice, nothing missed)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Services
from bot.digest.schedule import canonical_fire, latest_fire
from bot.models import PAYLOAD_ADAPTER, Digest
from bot.schedule import cron_trigger
from tests.conftest import FakeClock
from tests.digest.conftest import article, ingest


def fires(expr: str, tz: str, start: datetime, n: int) -> list[datetime]:
    trig = cron_trigger(expr, tz)
    out: list[datetime] = []
    prev = None
    now = start
    for _ in range(n):
        nxt = trig.get_next_fire_time(prev, now)
        assert nxt is not None
        out.append(nxt.astimezone(UTC))
        # Step in UTC: zoned arithmetic drops ``fold`` (and would return the first 01:30 again).
        prev = nxt.astimezone(UTC)
        now = prev + timedelta(microseconds=1)
    return out


def test_seoul_0800_is_2300_utc_the_day_before() -> None:
    got = fires("0 8 * * *", "Asia/Seoul", datetime(2026, 11, 2, tzinfo=UTC), 2)
    assert got == [datetime(2026, 11, 2, 23, tzinfo=UTC), datetime(2026, 11, 3, 23, tzinfo=UTC)]


@pytest.mark.parametrize(
    "tz,expr,day,first_utc",
    [
        (
            "America/New_York",
            "30 1 * * *",
            datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        ),
        # Berlin's repeated hour is 02:00–03:00 (clocks go from 03:00 CEST back to 02:00 CET).
        (
            "Europe/Berlin",
            "30 2 * * *",
            datetime(2026, 10, 25, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
    ],
)
def test_fall_back_fires_twice_but_is_one_fire(
    tz: str, expr: str, day: datetime, first_utc: datetime
) -> None:
    a, b, c = fires(expr, tz, day - timedelta(hours=12), 3)
    assert a == first_utc and b == first_utc + timedelta(hours=1), "APScheduler fires both 01:30s"
    assert canonical_fire(a, tz) == canonical_fire(b, tz) == first_utc
    assert canonical_fire(c, tz) == c  # the next day is an ordinary fire
    assert c - b == timedelta(hours=24)


def test_dst_spring_forward_keeps_local_time() -> None:
    got = fires("0 8 * * *", "America/New_York", datetime(2026, 3, 7, tzinfo=UTC), 2)
    assert [d.hour for d in got] == [13, 12]  # 08:00 EST then 08:00 EDT


def test_latest_fire() -> None:
    trig = cron_trigger("0 8 * * *", "UTC")
    now = datetime(2026, 11, 5, 9, tzinfo=UTC)
    assert latest_fire(trig, now, after=None) == datetime(2026, 11, 5, 8, tzinfo=UTC)
    assert latest_fire(trig, now, after=datetime(2026, 11, 1, tzinfo=UTC)) == datetime(
        2026, 11, 5, 8, tzinfo=UTC
    )
    assert latest_fire(trig, now, after=datetime(2026, 11, 5, 8, tzinfo=UTC)) is None


def digests_of(rows: list[Any]) -> list[Digest]:
    out = []
    for r in rows:
        if r.kind == "digest":
            p = PAYLOAD_ADAPTER.validate_json(r.payload)
            assert isinstance(p, Digest)
            out.append(p)
    return out


def story_ids(d: Digest) -> list[int]:
    return [s.story_id for sec in d.sections for s in sec.stories]


async def test_fall_back_double_fire_sends_one_digest(svc: Services, clock: FakeClock) -> None:
    clock.now = datetime(2026, 10, 31, 12, tzinfo=UTC)
    sub = await svc.store.upsert_subscription(
        platform="console", channel="ny", now=clock(), digest_cron="30 1 * * *", timezone="America/New_York"
    )
    clock.now = datetime(2026, 11, 1, 3, tzinfo=UTC)
    await ingest(svc, [article(1, "North Korea Russia treaty talks", published=clock())])
    sched = svc.digest_scheduler
    clock.now = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert await sched.fire(sub.id) == 1
    clock.now = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST: APScheduler fires again
    assert await sched.fire(sub.id) is None
    clock.now = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # the next day's 01:30 EST is a real fire
    assert await sched.fire(sub.id) == 0
    assert len(digests_of(await svc.store.deliveries_for(sub.id))) == 1


async def test_digest_windows_hold_across_a_restart(
    services: Callable[..., Any], db_url: str, clock: FakeClock
) -> None:
    """Daily 08:00 digests; the bot is down over one 08:00. Every story lands in exactly one digest."""
    clock.now = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    all_ids: list[int] = []
    async with services(database_url=db_url) as svc:
        sub = await svc.store.upsert_subscription(
            platform="console", channel="c", now=clock(), digest_cron="0 8 * * *", empty_digest="note"
        )
        await ingest(
            svc, [article(i, f"North Korea Russia treaty item {i}", published=clock()) for i in range(3)]
        )
        sched = svc.digest_scheduler
        clock.now = datetime(2026, 11, 2, 8, 0, 5, tzinfo=UTC)
        assert await sched.fire(sub.id) == 3
        # Stories arriving after the digest, then the process stops before the next 08:00.
        clock.advance(hours=5)
        await ingest(
            svc, [article(i, f"Kursk Russia North Korea item {i}", published=clock()) for i in range(3, 5)]
        )
    clock.now = datetime(2026, 11, 4, 9, 15, tzinfo=UTC)  # missed 11-03 and 11-04 08:00
    async with services(database_url=db_url) as svc:
        sched = svc.digest_scheduler
        assert await sched.catch_up() == 1, "missed fires coalesce into one digest"
        assert await sched.catch_up() == 0
        assert await sched.fire(sub.id) is None, "the 08:00 fire already answered"
        clock.advance(minutes=30)
        await ingest(svc, [article(9, "North Korea Russia treaty late item", published=clock())])
        clock.now = datetime(2026, 11, 5, 8, 0, 1, tzinfo=UTC)
        assert await sched.fire(sub.id) == 1
        digests = digests_of(await svc.store.deliveries_for(sub.id))
    assert [d.story_count for d in digests] == [3, 2, 1]
    ids = [sid for d in digests for sid in story_ids(d)]
    all_ids = [r[0] for r in await _all_story_ids(db_url, clock)]
    assert sorted(ids) == sorted(all_ids) and len(ids) == len(set(ids)) == 6
    for a, b in itertools.pairwise(digests):
        assert a.window_end == b.window_start


async def _all_story_ids(db_url: str, clock: FakeClock) -> list[Any]:
    from bot.store.repo import Store

    s = await Store.open(db_url)
    try:
        return [(sid,) for sid, *_ in await s.stories_in_window(clock() - timedelta(days=30), None)]
    finally:
        await s.close()


async def test_misfire_after_a_busy_loop_still_sends_once(svc: Services, clock: FakeClock) -> None:
    """A real AsyncIOScheduler: the digest job's run time passed 30 s ago (the loop was busy). With
    APScheduler's default 1 s grace it would be skipped; ours runs it, once."""
    from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    clock.now = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    sub = await svc.store.upsert_subscription(
        platform="console", channel="m", now=clock(), digest_cron="0 8 * * *"
    )
    await ingest(svc, [article(1, "North Korea Russia treaty busy", published=clock())])
    clock.now = datetime(2026, 11, 2, 8, 0, 30, tzinfo=UTC)
    scheduler = AsyncIOScheduler(timezone=UTC)
    sched = svc.digest_scheduler
    await sched.sync(scheduler)
    events: list[tuple[str, int]] = []
    done = asyncio.Event()

    def listen(ev: Any) -> None:
        events.append((ev.job_id, ev.code))
        if ev.job_id.startswith("digest:"):
            done.set()

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(f"digest:{sub.id}")
        assert job is not None and job.coalesce and job.misfire_grace_time >= 3600
        scheduler.modify_job(job.id, next_run_time=datetime.now(UTC) - timedelta(seconds=30))
        scheduler.resume()
        await asyncio.wait_for(done.wait(), 20)
    finally:
        scheduler.shutdown(wait=False)
    assert events[0] == (f"digest:{sub.id}", EVENT_JOB_EXECUTED)
    assert len(digests_of(await svc.store.deliveries_for(sub.id))) == 1
    assert await sched.fire(sub.id) is None  # a second (coalesced or repeated) run sends nothing
    assert len(digests_of(await svc.store.deliveries_for(sub.id))) == 1


async def test_jobs_follow_subscription_changes(svc: Services, clock: FakeClock) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=UTC)
    sched = svc.digest_scheduler
    sub = await svc.store.upsert_subscription(
        platform="console", channel="j", now=clock(), digest_cron="08:00"
    )
    await sched.sync(scheduler)
    job = scheduler.get_job(f"digest:{sub.id}")
    assert job is not None and "hour='8'" in str(job.trigger)
    await svc.store.upsert_subscription(
        platform="console", channel="j", now=clock(), digest_cron="weekdays 09:30", timezone="Asia/Seoul"
    )
    await sched.sync(scheduler)
    job = scheduler.get_job(f"digest:{sub.id}")
    assert (
        job is not None
        and "mon,tue,wed,thu,fri" in str(job.trigger)
        and str(job.trigger.timezone) == "Asia/Seoul"
    )
    await svc.store.delete_subscription("console", "j")
    await sched.sync(scheduler)
    assert scheduler.get_job(f"digest:{sub.id}") is None
