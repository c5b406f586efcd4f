"""The Slack sink through the real outbox and store, against the Slack Web API stand-in: what is sent,
pacing, 429s, channels that refuse us, and reconciliation after a crash."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Services, build_services
from bot.models import Alert, Digest, DigestSection, SourceLink, StoryLine
from bot.settings import Settings
from bot.slack.sink import EVENT_TYPE, SlackSink
from bot.store.repo import PlannedDelivery
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher, Ticks
from tests.slack.conftest import slack_adapter
from tests.slack.slack_support import APP_TOKEN, BOT_TOKEN, FakeSlack

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def rest_svc(slack_settings: Callable[..., Settings], clock: FakeClock) -> AsyncIterator[Services]:
    """Services as ``poll --once`` builds them: the Slack sink without a live connection."""
    async with build_services(
        slack_settings(), clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=False
    ) as svc:
        yield svc


def alert(n: int, title: str = "Treaty signed") -> Alert:
    return Alert(
        article_id=n,
        title=f"{title} {n}",
        url=f"https://news.example/{n}",
        source="Agency",
        published=NOW,
        lang="en",
    )


def big_digest(stories: int = 800) -> Digest:
    lines = tuple(
        StoryLine(
            story_id=i,
            title=f"Story {i} " + "long words " * 40,
            url=f"https://news.example/{i}",
            published=NOW,
            sources=(SourceLink(name="Agency", url=f"https://agency.example/{i}"),),
        )
        for i in range(stories)
    )
    return Digest(
        title="Daily digest",
        window_start=NOW - timedelta(days=1),
        window_end=NOW,
        story_count=stories,
        article_count=stories,
        sections=(DigestSection(kind="fact", ref="treaty_signed", title="Treaty signed", stories=lines),),
    )


async def enqueue(svc: Services, channel: str, payloads: list[Any], *, kind: str = "alert") -> int:
    sub = await svc.store.upsert_subscription(
        platform="slack", channel=channel, tenant="slack:T0TEAM", now=svc.clock(), alerts="all"
    )
    planned = [
        PlannedDelivery(key=f"{channel}:{kind}:{i}", subscription_id=sub.id, kind=kind, payload=p)  # type: ignore[arg-type]
        for i, p in enumerate(payloads)
    ]
    await svc.store.enqueue(planned, now=svc.clock())
    return sub.id


def parts_in_history(fake: FakeSlack, channel: str, key: str) -> list[int]:
    out = []
    for m in fake.history.get(channel, []):
        meta = m.get("metadata") or {}
        if meta.get("event_type") == EVENT_TYPE and meta["event_payload"]["key"] == key:
            out.append(meta["event_payload"]["part"])
    return sorted(out)


async def test_alert_is_posted_with_metadata_blocks_and_no_unfurl(
    rest_svc: Services, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sub_id = await enqueue(rest_svc, "C1", [alert(1, "Pact <!channel> & <@U123>")])
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 1
    [post] = fake_slack.posts("C1")
    assert post.args["metadata"] == {
        "event_type": EVENT_TYPE,
        "event_payload": {"key": "C1:alert:0", "part": 0},
    }
    assert post.args["unfurl_links"] is False and post.args["unfurl_media"] is False
    assert post.auth == f"Bearer {BOT_TOKEN}"
    blocks = post.args["blocks"]
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in blocks[0]["text"]["text"]
    assert "<!channel>" not in post.args["text"] and "<@U123>" not in post.args["text"]
    [row] = await rest_svc.store.deliveries_for(sub_id)
    assert row.status == "sent" and row.message_id == fake_slack.history["C1"][0]["ts"]
    assert BOT_TOKEN not in caplog.text and APP_TOKEN not in caplog.text


async def test_429_is_waited_out_per_retry_after_and_posts_once(
    rest_svc: Services, fake_slack: FakeSlack
) -> None:
    fake_slack.rate_limit["chat.postMessage"] = 1
    fake_slack.retry_after = 1
    await enqueue(rest_svc, "C1", [alert(1)])
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 1
    # The first attempt got the 429; the client waited out Retry-After and the second one posted.
    assert len(fake_slack.posts("C1")) == 2
    assert len(fake_slack.history["C1"]) == 1


async def test_no_duplicate_when_rate_limited_past_the_client_retries(
    slack_settings: Callable[..., Settings], clock: FakeClock, fake_slack: FakeSlack
) -> None:
    settings = slack_settings(slack_rate_limit_retries=0)
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, live=False
    ) as svc:
        fake_slack.rate_limit["chat.postMessage"] = 1
        fake_slack.retry_after = 30
        sub_id = await enqueue(svc, "C1", [alert(1)])
        assert svc.outbox is not None
        assert await svc.outbox.drain() == 0
        [row] = await svc.store.deliveries_for(sub_id)
        not_before = row.not_before if row.not_before.tzinfo else row.not_before.replace(tzinfo=UTC)
        assert row.status == "pending" and not_before >= clock() + timedelta(seconds=29)  # Retry-After kept
        clock.advance(seconds=31)
        assert await svc.outbox.drain() == 1
        assert len(fake_slack.history["C1"]) == 1
        assert len(fake_slack.of("conversations.history")) == 1  # reconciled before resending


async def test_pace_per_channel(rest_svc: Services, fake_slack: FakeSlack) -> None:
    adapter = slack_adapter(rest_svc)
    ticks = Ticks()
    sink = SlackSink(
        adapter.client, limits=adapter.limits, pace_seconds=1.5, monotonic=ticks, sleep=ticks.sleep
    )
    sub_c1 = await enqueue(rest_svc, "C1", [alert(i) for i in range(3)])
    sub_c2 = await enqueue(rest_svc, "C2", [alert(i) for i in range(2)])
    claimed = await rest_svc.store.claim(
        owner="t", platforms=["slack"], now=rest_svc.clock(), lease_seconds=60, limit=10
    )
    assert {d.subscription_id for d in claimed} == {sub_c1, sub_c2}
    for d in sorted(claimed, key=lambda d: (d.channel, d.key)):
        assert (await sink.send(d)).status == "sent"
    # The second and third posts to C1 waited for the pace; C2's first post did not wait for C1's.
    assert ticks.slept == [1.5, 1.5, 1.5]
    assert [len(fake_slack.posts(c)) for c in ("C1", "C2")] == [3, 2]


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived"])
async def test_channel_refusal_pauses_the_subscription_until_resume(
    rest_svc: Services, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.channel_errors["CGONE"] = error
    sub_id = await enqueue(rest_svc, "CGONE", [alert(1), alert(2)])
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 0
    sub = await rest_svc.store.get_subscription_by_id(sub_id)
    assert sub is not None and sub.paused and error in (sub.paused_reason or "")
    assert len(fake_slack.posts("CGONE")) == 1  # the second was not tried against a refusing channel
    assert await rest_svc.outbox.drain() == 0  # paused: nothing is claimed
    assert len(fake_slack.posts("CGONE")) == 1
    # Someone fixes the channel and runs resume.
    del fake_slack.channel_errors["CGONE"]
    await rest_svc.store.set_paused(sub_id, False)
    assert await rest_svc.outbox.drain() == 2
    assert len(fake_slack.history["CGONE"]) == 2


async def test_long_digest_parts_each_carry_key_and_part(rest_svc: Services, fake_slack: FakeSlack) -> None:
    await enqueue(rest_svc, "C1", [big_digest()], kind="digest")
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 1
    posts = fake_slack.posts("C1")
    assert len(posts) > 2
    assert [p.args["metadata"]["event_payload"]["part"] for p in posts] == list(range(len(posts)))
    assert all(len(p.args["blocks"]) <= 50 for p in posts)


async def _crash_after_posting(svc: Services, fake: FakeSlack, clock: FakeClock) -> str:
    """A first process claims the digest, posts it, and dies before recording it; the lease expires."""
    [claimed] = await svc.store.claim(
        owner="dead-process", platforms=["slack"], now=clock(), lease_seconds=60, limit=10
    )
    adapter = slack_adapter(svc)
    first_process = SlackSink(adapter.client, limits=adapter.limits, pace_seconds=0)
    assert (await first_process.send(claimed)).status == "sent"
    clock.advance(seconds=61)
    return claimed.key


async def test_reconcile_finds_a_digest_posted_before_a_crash(
    rest_svc: Services, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    sub_id = await enqueue(rest_svc, "C1", [big_digest()], kind="digest")
    key = await _crash_after_posting(rest_svc, fake_slack, clock)
    posted = len(fake_slack.posts("C1"))
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 1
    assert len(fake_slack.posts("C1")) == posted  # nothing posted again
    assert parts_in_history(fake_slack, "C1", key) == list(range(posted))
    [row] = await rest_svc.store.deliveries_for(sub_id)
    first_ts = next(
        m["ts"] for m in fake_slack.history["C1"] if m["metadata"]["event_payload"] == {"key": key, "part": 0}
    )
    assert row.status == "sent" and row.message_id == first_ts


async def test_reconcile_posts_only_the_parts_missing_after_a_crash(
    rest_svc: Services, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    await enqueue(rest_svc, "C1", [big_digest()], kind="digest")
    key = await _crash_after_posting(rest_svc, fake_slack, clock)
    total = len(fake_slack.posts("C1"))
    # The crash came before the last two parts reached Slack.
    fake_slack.history["C1"] = [
        m for m in fake_slack.history["C1"] if m["metadata"]["event_payload"]["part"] < total - 2
    ]
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 1
    resent = fake_slack.posts("C1")[total:]
    assert [p.args["metadata"]["event_payload"]["part"] for p in resent] == [total - 2, total - 1]
    assert parts_in_history(fake_slack, "C1", key) == list(range(total))  # each part exactly once


async def test_digest_chart_is_uploaded_with_files_upload_v2(
    rest_svc: Services, fake_slack: FakeSlack
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    digest = Digest(
        title="Weekly digest",
        window_start=NOW - timedelta(days=7),
        window_end=NOW,
        story_count=0,
        article_count=0,
        sections=(),
        note="Quiet week.",
        chart_png=png,
    )
    await enqueue(rest_svc, "C1", [digest], kind="digest")
    assert rest_svc.outbox is not None
    assert await rest_svc.outbox.drain() == 1
    assert fake_slack.uploads == [png]
    [done] = fake_slack.of("files.completeUploadExternal")
    assert done.args["channel_id"] == "C1"
