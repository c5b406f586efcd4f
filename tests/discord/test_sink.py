"""Discord delivery against a local fake Discord, through the real OutboxSender and Store."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Services
from bot.discord.render import (
    CONTENT_MAX,
    EMBED_CHARS_PER_MESSAGE,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TITLE_MAX,
    EMBEDS_PER_MESSAGE,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FOOTER_MAX,
    NONCE_MAX,
    embed_chars,
)
from bot.discord.sink import DiscordSink
from bot.models import Alert, Delivery, Digest, DigestSection, Evidence, Label, SourceLink, StoryLine
from bot.store.repo import PlannedDelivery
from tests.conftest import FakeClock, Ticks
from tests.discord.conftest import TOKEN
from tests.discord.discord_support import FakeDiscord

CHANNEL = "555"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def alert(n: int = 1, title: str = "Putin and Kim sign @everyone *treaty* <@123456789012345678>") -> Alert:
    return Alert(
        article_id=n,
        title=title,
        url=f"https://news.example/a/{n}?x=(1)",
        source="Yonhap",
        published=T0,
        lang="en",
        facts=(Label(ref="treaty_signed", title="Treaty signed"),),
        watches=(Label(ref="3", title="my @here watch"),),
        evidence=Evidence(terms=("treaty",), snippet="they sign a treaty today", highlights=((12, 18),)),
    )


def big_digest(stories: int = 300, sections: int = 12) -> Digest:
    per = stories // sections
    secs = []
    for s in range(sections):
        lines = tuple(
            StoryLine(
                story_id=s * 1000 + i,
                title=f"Story {s}-{i} " + "very long headline about North Korea and Russia " * 30,
                url=f"https://news.example/s/{s}/{i}",
                published=T0,
                sources=tuple(
                    SourceLink(name=f"Outlet {k}", url=f"https://o{k}.example/{i}") for k in range(8)
                ),
                alerted=i % 3 == 0,
            )
            for i in range(per)
        )
        secs.append(
            DigestSection(kind="fact", ref=f"f{s}", title=f"Fact {s} " + "x" * 300, stories=lines, more=2)
        )
    return Digest(
        title="Daily digest " + "t" * 400,
        window_start=T0 - timedelta(days=1),
        window_end=T0,
        story_count=stories,
        article_count=stories * 3,
        sections=tuple(secs),
    )


async def subscribe(svc: Services, channel: str = CHANNEL, mention_role: str | None = None) -> int:
    sub = await svc.store.upsert_subscription(
        platform="discord",
        channel=channel,
        tenant="discord:1",
        now=svc.clock(),
        alerts="all",
        mention_role=mention_role,
    )
    return sub.id


async def enqueue(svc: Services, sub_id: int, key: str, payload: Any, kind: str = "alert") -> None:
    await svc.store.enqueue(
        [PlannedDelivery(key=key, subscription_id=sub_id, kind=kind, payload=payload)],  # type: ignore[arg-type]
        now=svc.clock(),
    )


def assert_limits(body: dict[str, Any]) -> None:
    assert len(body.get("content", "")) <= CONTENT_MAX
    embeds = body["embeds"]
    assert 1 <= len(embeds) <= EMBEDS_PER_MESSAGE
    assert sum(embed_chars(e) for e in embeds) <= EMBED_CHARS_PER_MESSAGE
    for e in embeds:
        assert len(e.get("title", "")) <= EMBED_TITLE_MAX
        assert len(e.get("description", "")) <= EMBED_DESCRIPTION_MAX
        assert len(e.get("fields", [])) <= EMBED_FIELDS_MAX
        for f in e.get("fields", []):
            assert 1 <= len(f["name"]) <= FIELD_NAME_MAX and 1 <= len(f["value"]) <= FIELD_VALUE_MAX
        assert len(e.get("footer", {}).get("text", "")) <= FOOTER_MAX
    assert body["allowed_mentions"]["parse"] == []
    assert 1 <= len(body["nonce"]) <= NONCE_MAX and body["enforce_nonce"] is True


async def statuses(svc: Services, sub_id: int) -> list[str]:
    return [r.status for r in await svc.store.deliveries_for(sub_id)]


async def test_alert_is_an_escaped_embed_with_no_mentions(
    services: Services, fake_discord: FakeDiscord
) -> None:
    sub = await subscribe(services)
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    assert await services.outbox.drain() == 1
    [(cid, body)] = fake_discord.posts
    assert cid == CHANNEL
    assert_limits(body)
    assert body["allowed_mentions"] == {"parse": []}
    assert body["content"] == ""
    e = body["embeds"][0]
    assert "@everyone" not in e["title"] and "@\u200beveryone" in e["title"]
    assert "\\*treaty\\*" in e["title"]
    assert "<@" not in e["title"].replace("\\<", "")  # a user mention cannot render
    assert e["url"] == "https://news.example/a/1?x=%281%29"
    assert "**treaty**" in e["description"]
    fields = {f["name"]: f["value"] for f in e["fields"]}
    assert fields["Published"].startswith(f"<t:{int(T0.timestamp())}:f>")
    assert "@here" not in fields["Watches"]
    assert await statuses(services, sub) == ["sent"]
    assert fake_discord.auth_headers == {f"Bot {TOKEN}"}


async def test_mention_role_is_the_only_mention_allowed(
    services: Services, fake_discord: FakeDiscord
) -> None:
    sub = await subscribe(services, mention_role="42")
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    await services.outbox.drain()
    [(_, body)] = fake_discord.posts
    assert body["content"] == "<@&42>"
    assert body["allowed_mentions"] == {"parse": [], "roles": ["42"]}


async def test_huge_digest_is_split_within_every_limit(services: Services, fake_discord: FakeDiscord) -> None:
    sub = await subscribe(services)
    digest = big_digest()
    await enqueue(services, sub, "digest:1:2026-11-02", digest, kind="digest")
    assert services.outbox is not None
    assert await services.outbox.drain() == 1
    bodies = [b for _, b in fake_discord.posts]
    assert len(bodies) > 1
    for b in bodies:
        assert_limits(b)
    assert len({b["nonce"] for b in bodies}) == len(bodies)
    text = "\n".join(e.get("description", "") for b in bodies for e in b["embeds"])
    for section in digest.sections:
        for story in section.stories:
            assert story.url in text
    assert text.count("… and 2 more") == len(digest.sections)
    footers = [b["embeds"][-1]["footer"]["text"] for b in bodies]
    assert all(f.endswith(f"{i + 1}/{len(bodies)}") for i, f in enumerate(footers))


async def test_short_429_is_waited_out_without_a_duplicate(
    services: Services, fake_discord: FakeDiscord
) -> None:
    sub = await subscribe(services)
    fake_discord.plan[CHANNEL] = [(429, 0.05)]
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    assert await services.outbox.drain() == 1
    assert len(fake_discord.posts) == 2  # refused once, then accepted
    assert len(fake_discord.channel(CHANNEL)) == 1
    assert fake_discord.posts[0][1]["nonce"] == fake_discord.posts[1][1]["nonce"]


async def test_long_429_goes_back_to_the_outbox_with_retry_after(
    services: Services, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    sub = await subscribe(services)
    fake_discord.plan[CHANNEL] = [(429, 120.0)]
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    assert await services.outbox.drain() == 0
    [row] = await services.store.deliveries_for(sub)
    assert row.status == "pending" and row.not_before == clock.now + timedelta(seconds=120)
    assert fake_discord.channel(CHANNEL) == []


async def test_forced_retry_after_accept_posts_once(
    services: Services, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    """Discord accepted the message but the answer was lost: the retry reconciles by reading the
    channel back (nonce window over), and nothing is posted twice."""
    sub = await subscribe(services)
    fake_discord.nonce_window = False
    fake_discord.plan[CHANNEL] = ["accept-then-500"]
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    assert await services.outbox.drain() == 0
    assert len(fake_discord.channel(CHANNEL)) == 1
    clock.advance(minutes=10)
    assert await services.outbox.drain() == 1
    assert len(fake_discord.channel(CHANNEL)) == 1
    [row] = await services.store.deliveries_for(sub)
    assert row.status == "sent" and row.message_id == fake_discord.channel(CHANNEL)[0]["id"]


async def test_within_the_nonce_window_a_resend_returns_the_first_message(
    services: Services, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    sub = await subscribe(services)
    fake_discord.plan[CHANNEL] = ["accept-then-500"]
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    await services.outbox.drain()
    clock.advance(minutes=1)
    await services.outbox.drain()
    assert len(fake_discord.channel(CHANNEL)) == 1


async def test_digest_failing_midway_resumes_with_the_missing_parts(
    services: Services, fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    sub = await subscribe(services)
    fake_discord.nonce_window = False
    fake_discord.plan[CHANNEL] = [None, "accept-then-500"]
    await enqueue(services, sub, "digest:1:x", big_digest(), kind="digest")
    assert services.outbox is not None
    assert await services.outbox.drain() == 0
    clock.advance(minutes=10)
    assert await services.outbox.drain() == 1
    nonces = [m["nonce"] for m in fake_discord.channel(CHANNEL)]
    assert len(nonces) == len(set(nonces)) and len(nonces) > 2


@pytest.mark.parametrize(("status", "words"), [(403, "Missing Access"), (404, "Unknown Channel")])
async def test_refusing_channel_pauses_its_subscription(
    services: Services, fake_discord: FakeDiscord, clock: FakeClock, status: int, words: str
) -> None:
    sub = await subscribe(services)
    fake_discord.plan[CHANNEL] = [status]
    await enqueue(services, sub, "alert:1:s1", alert(1))
    await enqueue(services, sub, "alert:1:s2", alert(2))
    assert services.outbox is not None
    assert await services.outbox.drain() == 0
    row = await services.store.get_subscription_by_id(sub)
    assert row is not None and row.paused and words in (row.paused_reason or "")
    clock.advance(hours=1)
    assert await services.outbox.drain() == 0
    assert len(fake_discord.posts) == 1  # not retried while paused
    await services.store.set_paused(sub, False)
    assert await services.outbox.drain() == 2


async def test_bad_request_is_rejected_not_retried(services: Services, fake_discord: FakeDiscord) -> None:
    sub = await subscribe(services)
    fake_discord.plan[CHANNEL] = [400]
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    await services.outbox.drain()
    assert await statuses(services, sub) == ["rejected"]


async def test_the_token_never_reaches_logs_or_errors(
    services: Services, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    caplog.set_level(logging.DEBUG)
    sub = await subscribe(services)
    fake_discord.plan[CHANNEL] = [(429, 0.01), "accept-then-500", 403]
    await enqueue(services, sub, "alert:1:s1", alert())
    assert services.outbox is not None
    await services.outbox.drain()
    clock.advance(minutes=5)
    await services.outbox.drain()
    rows = await services.store.deliveries_for(sub)
    assert TOKEN not in caplog.text
    assert all(TOKEN not in (r.last_error or "") for r in rows)
    assert TOKEN not in repr(services.sinks["discord"]) and TOKEN not in repr(services.adapters)


# --- pacing (an injected clock: no waiting in tests) ---------------------------------------------------


def delivery(n: int, channel: str = CHANNEL) -> Delivery:
    return Delivery(
        id=n, key=f"alert:1:s{n}", subscription_id=1, platform="discord", channel=channel, payload=alert(n)
    )


async def test_channel_pace_and_rate_limit_headers(fake_discord: FakeDiscord) -> None:
    ticks = Ticks()
    sink = DiscordSink(
        token=TOKEN, api_base=fake_discord.base, pace_seconds=1.5, monotonic=ticks, sleep=ticks.sleep
    )
    try:
        assert (await sink.send(delivery(1))).status == "sent"
        assert (await sink.send(delivery(2))).status == "sent"
        assert ticks.slept == [1.5]  # the second post to the channel waited for the pace
        assert (await sink.send(delivery(3, channel="999"))).status == "sent"
        assert ticks.slept == [1.5]  # another channel is not held back
        fake_discord.plan[CHANNEL] = ["last-token"]
        ticks.now += 10
        await sink.send(delivery(4))
        await sink.send(delivery(5))
        assert ticks.slept[-1] == 4.0  # the bucket was empty: X-RateLimit-Reset-After, not the pace
        fake_discord.plan[CHANNEL] = [(429, 30.0, "global")]
        ticks.now += 10
        posts = len(fake_discord.posts)
        held = await sink.send(delivery(6))
        assert held.status == "retry" and held.retry_after == 30.0
        other = await sink.send(delivery(7, channel="999"))
        assert other.status == "retry" and other.retry_after is not None and other.retry_after > 29
        assert len(fake_discord.posts) == posts + 1  # a global limit holds every channel, without a POST
        ticks.now += 31
        assert (await sink.send(delivery(7, channel="999"))).status == "sent"
    finally:
        await sink.close()
