"""The console sink: each payload kind written readably to the stream it was given."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.delivery.console import ConsoleSink
from bot.delivery.outbox import OutboxSender
from bot.models import (
    Alert,
    Delivery,
    Digest,
    DigestSection,
    Evidence,
    Label,
    Payload,
    SourceLink,
    StoryLine,
    Summary,
)
from bot.store.repo import PlannedDelivery, Store
from tests.conftest import FakeClock

PUBLISHED = datetime(2026, 11, 2, 8, 5, tzinfo=UTC)

ALERT = Alert(
    article_id=1,
    title="Russia and North Korea sign treaty",
    url="https://news.example/treaty",
    source="Example News",
    published=PUBLISHED,
    lang="en",
    facts=(Label("treaty_signed", "Treaty signed"),),
    watches=(Label("7", "Kursk front"),),
    evidence=Evidence(
        terms=("treaty",), snippet="Russia and North Korea sign treaty", highlights=((28, 34),)
    ),
)


def _line(n: int, *, alerted: bool = False) -> StoryLine:
    return StoryLine(
        story_id=n,
        title=f"Story {n}",
        url=f"https://news.example/{n}",
        published=PUBLISHED,
        sources=(
            SourceLink("Wire A", f"https://a.example/{n}"),
            SourceLink("Wire B", f"https://b.example/{n}"),
        ),
        alerted=alerted,
    )


DIGEST = Digest(
    title="Daily digest",
    window_start=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
    window_end=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
    story_count=3,
    article_count=7,
    sections=(
        DigestSection(
            kind="fact", ref="treaty_signed", title="Treaty signed", stories=(_line(1, alerted=True),)
        ),
        DigestSection(kind="other", ref="other", title="Other news", stories=(_line(2),), more=4),
    ),
    new_facts=(Label("treaty_signed", "Treaty signed"),),
    note="Quiet day.",
)

SUMMARY = Summary(title="3 alerts held back this hour", lines=(_line(5), _line(6)))


def _delivery(payload: Payload, key: str = "k1") -> Delivery:
    return Delivery(id=1, key=key, subscription_id=1, platform="console", channel="stdout", payload=payload)


async def _write(payload: Payload) -> str:
    out = io.StringIO()
    result = await ConsoleSink(out).send(_delivery(payload))
    assert result.status == "sent"
    text = out.getvalue()
    assert text.endswith("\n\n") and not text.endswith("\n\n\n"), "one blank line after each message"
    return text.removesuffix("\n\n")


async def test_alert_is_written_readably(capsys: pytest.CaptureFixture[str]) -> None:
    text = await _write(ALERT)
    assert text.splitlines() == [
        "ALERT Russia and North Korea sign treaty",
        "  Example News · 2026-11-02 08:05 UTC · en",
        "  https://news.example/treaty",
        "  matched: Treaty signed; watch: Kursk front",
        "  why: Russia and North Korea sign [treaty]",
    ]
    assert capsys.readouterr().out == "", "only the given stream is written"


async def test_alert_without_labels_or_evidence_has_no_empty_lines() -> None:
    bare = Alert(article_id=2, title="T", url="https://x.example", source="S", published=PUBLISHED, lang="ko")
    assert (await _write(bare)).splitlines() == [
        "ALERT T",
        "  S · 2026-11-02 08:05 UTC · ko",
        "  https://x.example",
    ]


async def test_digest_is_written_readably() -> None:
    lines = (await _write(DIGEST)).splitlines()
    assert lines == [
        "Daily digest",
        "2026-11-01 09:00 – 2026-11-02 09:00 UTC · 3 stories from 7 articles",
        "Quiet day.",
        "New facts: Treaty signed",
        "",
        "## Treaty signed",
        "- Story 1 [alerted] — Wire A, Wire B https://news.example/1",
        "",
        "## Other news",
        "- Story 2 — Wire A, Wire B https://news.example/2",
        "  … and 4 more",
    ]


async def test_summary_is_written_readably() -> None:
    assert (await _write(SUMMARY)).splitlines() == [
        "3 alerts held back this hour",
        "  - Story 5 (Wire A, Wire B) https://news.example/5",
        "  - Story 6 (Wire A, Wire B) https://news.example/6",
    ]


async def test_messages_follow_each_other_on_one_stream() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    for i, payload in enumerate((ALERT, DIGEST, SUMMARY)):
        await sink.send(_delivery(payload, key=f"k{i}"))
    separate = [await _write(p) + "\n\n" for p in (ALERT, DIGEST, SUMMARY)]
    assert out.getvalue() == "".join(separate)


async def test_without_a_stream_it_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    await ConsoleSink().send(_delivery(SUMMARY))
    assert capsys.readouterr().out.startswith("3 alerts held back this hour\n")


async def test_it_answers_sent_with_the_key_and_cannot_reconcile() -> None:
    sink = ConsoleSink(io.StringIO())
    assert sink.platform == "console"
    result = await sink.send(_delivery(ALERT, key="alert:1:s9"))
    assert (result.status, result.message_id) == ("sent", "alert:1:s9")
    assert await sink.find_sent(_delivery(ALERT, key="alert:1:s9")) is None


async def test_through_the_outbox_each_kind_is_printed_once(store: Store, clock: FakeClock) -> None:
    sub = await store.upsert_subscription(platform="console", channel="stdout", now=clock(), alerts="all")
    kinds = (("alert", ALERT), ("digest", DIGEST), ("summary", SUMMARY))
    planned = [PlannedDelivery(key=f"{k}:1", subscription_id=sub.id, kind=k, payload=p) for k, p in kinds]  # type: ignore[arg-type]
    await store.enqueue(planned, now=clock())
    out = io.StringIO()
    outbox = OutboxSender(store, {"console": ConsoleSink(out)}, clock=clock)
    assert await outbox.drain() == 3
    assert await outbox.drain() == 0
    text = out.getvalue()
    assert text.count("ALERT Russia and North Korea sign treaty") == 1
    assert text.count("## Other news") == 1
    assert text.count("3 alerts held back this hour") == 1
    assert [r.status for r in await store.deliveries_for(sub.id)] == ["sent"] * 3


def test_an_alert_shows_its_time_in_the_subscriptions_zone() -> None:
    from bot.delivery.console import render_text

    alert = Alert(
        article_id=1, title="t", url="https://x.example/", source="Yonhap",
        published=datetime(2026, 11, 2, 8, 0, tzinfo=UTC), lang="ko", zone="Asia/Seoul",
    )  # fmt: skip
    assert "Yonhap · 2026-11-02 17:00 KST · ko" in render_text(alert)
