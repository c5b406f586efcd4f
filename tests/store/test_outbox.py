"""The outbox through the public Store API: enqueue, claim under a lease, finish, and what a lost lease
means; on SQLite and on PostgreSQL (the ``store`` fixture; PostgreSQL skips when no server answers).

Every time is passed in (``now=``), never read from the clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import Alert, FeedSpec
from bot.store.repo import PlannedDelivery, QuotaError, Store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEASE = 60.0


def planned(sub_id: int, n: int, **kw: Any) -> PlannedDelivery:
    alert = Alert(
        article_id=n,
        title=f"Story {n}",
        url=f"https://news.example/a/{n}",
        source="Yonhap",
        published=T0,
        lang="en",
    )
    return PlannedDelivery(
        key=f"alert:{sub_id}:{n}", subscription_id=sub_id, kind="alert", payload=alert, **kw
    )


async def subscription(store: Store, channel: str = "c1", platform: str = "discord") -> int:
    sub = await store.upsert_subscription(platform=platform, channel=channel, tenant="discord:g1", now=T0)
    return sub.id


async def claim(store: Store, owner: str, now: datetime, *, limit: int = 10) -> list[int]:
    got = await store.claim(owner=owner, platforms=["discord"], now=now, lease_seconds=LEASE, limit=limit)
    return [d.id for d in got]


async def rows_by_id(store: Store, sub_id: int) -> dict[int, Any]:
    return {r.id: r for r in await store.deliveries_for(sub_id)}


async def test_enqueue_skips_keys_already_there(store: Store) -> None:
    sub = await subscription(store)
    assert await store.enqueue([planned(sub, 1), planned(sub, 2)], now=T0) == 2
    assert await store.enqueue([planned(sub, 2), planned(sub, 3)], now=T0) == 1
    assert await store.enqueue([], now=T0) == 0
    assert [r.key for r in await store.deliveries_for(sub)] == [f"alert:{sub}:{n}" for n in (1, 2, 3)]
    assert await store.existing_keys([f"alert:{sub}:1", "alert:nope"]) == {f"alert:{sub}:1"}
    assert await store.outbox_depth() == 3


async def test_claim_leases_a_batch_in_order(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, n) for n in range(1, 6)], now=T0)
    rows = await rows_by_id(store, sub)
    first = await store.claim(owner="a", platforms=["discord"], now=T0, lease_seconds=LEASE, limit=3)

    assert [d.id for d in first] == sorted(rows)[:3]
    assert all(d.attempts == 0 and d.platform == "discord" and d.channel == "c1" for d in first)
    assert first[0].payload == planned(sub, 1).payload
    after = await rows_by_id(store, sub)
    for d in first:
        assert after[d.id].lease_owner == "a"
        assert after[d.id].lease_until == T0 + timedelta(seconds=LEASE)
        assert after[d.id].attempts == 1
        assert after[d.id].status == "pending"
    assert [r.lease_owner for i, r in after.items() if i not in {d.id for d in first}] == [None, None]


async def test_a_second_claimer_waits_for_the_lease_to_expire(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, 1), planned(sub, 2)], now=T0)
    leased = await claim(store, "a", T0, limit=1)
    assert len(leased) == 1

    # While the lease holds, the channel is the first sender's: another gets nothing of it (one sender
    # per channel, so order and pacing hold across processes), not even the delivery not yet leased.
    assert await claim(store, "b", T0 + timedelta(seconds=1)) == []
    assert await claim(store, "c", T0 + timedelta(seconds=LEASE)) == []  # expiry is strict

    # Once it expired (sender "a" died mid-send), it is claimed again, flagged for reconciling.
    again = await store.claim(
        owner="c", platforms=["discord"], now=T0 + timedelta(seconds=LEASE + 1), lease_seconds=LEASE, limit=10
    )
    assert [d.id for d in again][:1] == leased and len(again) == 2
    assert again[0].attempts == 1 and again[1].attempts == 0
    # The first owner lost it: its finish is refused and changes nothing.
    assert not await store.finish(leased[0], owner="a", now=T0 + timedelta(seconds=LEASE + 2), status="sent")
    assert (await rows_by_id(store, sub))[leased[0]].lease_owner == "c"
    assert await store.finish(leased[0], owner="c", now=T0 + timedelta(seconds=LEASE + 2), status="sent")


async def test_two_senders_at_once_never_share_a_delivery(store: Store, db_url: str) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, n) for n in range(1, 9)], now=T0)
    other = await Store.open(db_url)  # a second process on the same database
    try:
        a, b = await asyncio.gather(claim(store, "a", T0, limit=5), claim(other, "b", T0, limit=5))
    finally:
        await other.close()
    # One channel has one sender at a time: exactly one of the two gets its deliveries.
    assert sorted([len(a), len(b)]) == [0, 5]
    winner = "a" if a else "b"
    rows = await rows_by_id(store, sub)
    assert {i for i, r in rows.items() if r.lease_owner == winner} == set(a + b)
    assert await claim(store, "c", T0) == []  # the channel is the winner's while its lease holds
    rest = await claim(store, winner, T0)
    assert sorted(a + b + rest) == sorted(rows)


async def test_finish_sent_records_the_message_and_clears_the_lease(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, 1)], now=T0)
    [did] = await claim(store, "a", T0)
    sent_at = T0 + timedelta(seconds=5)
    assert await store.finish(did, owner="a", now=sent_at, status="sent", message_id="m-1")

    row = (await rows_by_id(store, sub))[did]
    assert (row.status, row.message_id, row.sent_at) == ("sent", "m-1", sent_at)
    assert (row.lease_owner, row.lease_until, row.attempts) == (None, None, 1)
    assert await claim(store, "b", T0 + timedelta(days=1)) == []
    assert await store.outbox_depth() == 0
    # Settled once; a second finish by the same owner finds no lease.
    assert not await store.finish(did, owner="a", now=sent_at, status="sent")


async def test_finish_rejected_keeps_the_error(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, 1)], now=T0)
    [did] = await claim(store, "a", T0)
    assert await store.finish(did, owner="a", now=T0, status="rejected", error="x" * 5000)

    row = (await rows_by_id(store, sub))[did]
    assert row.status == "rejected" and row.sent_at is None
    assert row.last_error == "x" * 2000
    assert await claim(store, "b", T0 + timedelta(days=1)) == []


async def test_finish_pending_retries_after_not_before_and_counts_attempts(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, 1)], now=T0)
    [did] = await claim(store, "a", T0)
    retry_at = T0 + timedelta(minutes=5)
    assert await store.finish(did, owner="a", now=T0, status="pending", error="429", not_before=retry_at)

    row = (await rows_by_id(store, sub))[did]
    assert (row.status, row.not_before, row.lease_owner, row.last_error) == ("pending", retry_at, None, "429")
    assert await claim(store, "b", retry_at - timedelta(seconds=1)) == []
    [again] = await store.claim(owner="b", platforms=["discord"], now=retry_at, lease_seconds=LEASE, limit=1)
    assert again.id == did and again.attempts == 1
    assert (await rows_by_id(store, sub))[did].attempts == 2


async def test_finish_paused_waits_for_the_channel_to_be_resumed(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue([planned(sub, 1)], now=T0)
    [did] = await claim(store, "a", T0)
    assert await store.finish(did, owner="a", now=T0, status="paused", error="missing access")
    await store.set_paused(sub, True, "missing access")
    assert await claim(store, "b", T0 + timedelta(hours=1)) == []
    assert await store.outbox_depth() == 1

    await store.set_paused(sub, False)
    assert await claim(store, "b", T0 + timedelta(hours=1)) == [did]


async def test_claim_takes_only_due_pending_deliveries_of_its_platforms(store: Store) -> None:
    due = await subscription(store, "due")
    paused = await subscription(store, "paused")
    slack = await subscription(store, "s1", platform="slack")
    await store.set_paused(paused, True, "gone")
    later = T0 + timedelta(hours=1)
    await store.enqueue(
        [
            planned(due, 1),
            planned(due, 2, not_before=later),
            planned(due, 3, status="held"),
            planned(paused, 4),
            planned(slack, 5),
        ],
        now=T0,
    )
    ids = {r.key: r.id for sub in (due, slack) for r in await store.deliveries_for(sub)}

    assert await claim(store, "a", T0) == [ids[f"alert:{due}:1"]]
    assert await store.finish(ids[f"alert:{due}:1"], owner="a", now=T0, status="sent")
    assert await claim(store, "a", later) == [ids[f"alert:{due}:2"]]
    got = await store.claim(owner="s", platforms=["slack"], now=T0, lease_seconds=LEASE, limit=10)
    assert [(d.id, d.platform, d.channel) for d in got] == [(ids[f"alert:{slack}:5"], "slack", "s1")]


async def test_mention_role_goes_with_alerts_only(store: Store) -> None:
    sub = await store.upsert_subscription(platform="discord", channel="c1", now=T0, mention_role="42")
    summary = PlannedDelivery(
        key="summary:1", subscription_id=sub.id, kind="summary", payload=planned(sub.id, 9).payload
    )
    await store.enqueue([planned(sub.id, 1), summary], now=T0)
    got = await store.claim(owner="a", platforms=["discord"], now=T0, lease_seconds=LEASE, limit=10)
    assert [d.mention_role for d in got] == ["42", None]


# --- the hourly cap: held alerts, counted, then rolled into a summary ----------------------------------


async def test_held_alerts_are_rolled_once(store: Store) -> None:
    sub = await subscription(store)
    await store.enqueue(
        [planned(sub, 1), planned(sub, 2, story_id=7), planned(sub, 3, status="held", story_id=8)], now=T0
    )
    assert await store.alerts_sent_since([sub], T0) == {sub: 2}
    assert await store.alerts_sent_since([sub, sub + 1], T0 + timedelta(seconds=1)) == {sub: 0, sub + 1: 0}
    assert await store.alerted_stories(sub, [7, 8, 9]) == {7}
    assert await store.subscriptions_with_held() == [sub]
    [(held_id, story, _)] = await store.held_alerts(sub)
    assert story == 8

    summary = PlannedDelivery(
        key=f"summary:{sub}", subscription_id=sub, kind="summary", payload=planned(sub, 3).payload
    )
    assert await store.roll_held(sub, [held_id], summary, now=T0)
    assert await store.held_alerts(sub) == []
    assert await store.subscriptions_with_held() == []
    # Already rolled: refused, and no second summary.
    assert not await store.roll_held(sub, [held_id], summary, now=T0)
    kinds = [(r.kind, r.status) for r in await store.deliveries_for(sub)]
    assert kinds == [("alert", "pending"), ("alert", "pending"), ("alert", "rolled"), ("summary", "pending")]


# --- quotas per tenant -------------------------------------------------------------------------------


async def add_watch(store: Store, tenant: str, n: int, *, quota: int) -> int:
    row = await store.add_watch(
        platform="discord",
        tenant=tenant,
        channel=f"{tenant}-c",
        query=f"word{n}",
        label="",
        alert=False,
        created_by="u",
        now=T0,
        quota=quota,
    )
    return row.id


async def test_watch_quota_is_per_tenant(store: Store) -> None:
    ids = [await add_watch(store, "discord:g1", n, quota=2) for n in range(2)]
    rev = await store.watches_revision()
    with pytest.raises(QuotaError, match="already has 2 watches"):
        await add_watch(store, "discord:g1", 3, quota=2)
    assert await store.watches_revision() == rev  # nothing written
    assert len(await store.list_watches(tenant="discord:g1")) == 2
    await add_watch(store, "discord:g2", 1, quota=2)  # another server has its own quota

    assert await store.remove_watch(ids[0], platform="discord", channel="discord:g1-c")
    await add_watch(store, "discord:g1", 4, quota=2)
    assert len(await store.list_watches(tenant="discord:g1")) == 2


async def test_feed_quota_is_per_tenant_and_operator_feeds_do_not_count(store: Store) -> None:
    from bot.models import FeedSpec

    def spec(tenant: str, n: int) -> FeedSpec:
        return FeedSpec(url=f"https://feeds.example/{n}.xml", name=f"F{n}", origin="chat", tenant=tenant)

    await store.sync_operator_feeds([FeedSpec(url="https://op.example/rss", name="Op")], T0)
    first = await store.add_chat_feed(spec("discord:g1", 1), T0, quota=1)
    assert first is not None and first.tenant == "discord:g1" and first.origin == "chat"
    # The same feed again: None, not a quota error, even at the quota.
    assert await store.add_chat_feed(spec("discord:g1", 1), T0, quota=1) is None
    with pytest.raises(QuotaError, match="already has 1 feeds"):
        await store.add_chat_feed(spec("discord:g1", 2), T0, quota=1)
    assert await store.add_chat_feed(spec("discord:g2", 2), T0, quota=1) is not None

    visible = await store.list_feeds(tenant="discord:g1")
    assert [f.url for f in visible] == ["https://op.example/rss", "https://feeds.example/1.xml"]
    assert await store.visible_feed_ids("discord:g1") == {f.id for f in visible}
    assert await store.remove_feed(first.id, tenant="discord:g1")
    assert await store.add_chat_feed(spec("discord:g1", 2), T0, quota=1) is not None


async def test_two_adds_at_once_cannot_both_take_the_last_place(store: Store, db_url: str) -> None:
    def feed(n: int) -> FeedSpec:
        return FeedSpec(url=f"https://feeds.example/{n}.xml", origin="chat", tenant="discord:g1")

    other = await Store.open(db_url)  # a second process on the same database
    try:
        watches = await asyncio.gather(
            add_watch(store, "discord:g1", 1, quota=1),
            add_watch(other, "discord:g1", 2, quota=1),
            return_exceptions=True,
        )
        feeds = await asyncio.gather(
            store.add_chat_feed(feed(1), T0, quota=1),
            other.add_chat_feed(feed(2), T0, quota=1),
            return_exceptions=True,
        )
    finally:
        await other.close()
    for results in (watches, feeds):
        assert sum(isinstance(r, QuotaError) for r in results) == 1, results
    assert len(await store.list_watches(tenant="discord:g1")) == 1
    assert len([f for f in await store.list_feeds(tenant="discord:g1") if f.tenant]) == 1
