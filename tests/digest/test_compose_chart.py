"""Digest composition (pure), the trend chart's series and PNG, and ``pactwatch digest``."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import Services
from bot.digest import compose_digest
from bot.digest.chart import trend_series
from bot.digest.compose import OTHER_TITLE, StoryInput
from bot.digest.render import render
from bot.models import Article, Fact
from bot.settings import Settings
from bot.store.repo import StoredArticle
from tests.conftest import TEST_FACTS, FakeClock
from tests.digest.conftest import article, ingest

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
FACTS = (
    Fact(id="a", title="Fact A", statement="", priority="alert", query=""),
    Fact(id="b", title="Fact B", statement="", priority="digest", query=""),
)


def story(
    sid: int,
    n_sources: int,
    *,
    facts: set[str] = frozenset(),
    watches: set[str] = frozenset(),
    relevant: bool = True,
    minutes: int = 0,
) -> StoryInput:
    arts = tuple(
        StoredArticle(
            id=sid * 100 + i,
            feed_id=i,
            seeded=False,
            first_seen=T0,
            story_id=sid,
            relevant=relevant,
            article=Article(
                feed_url=f"f{i}",
                entry_id=str(i),
                url=f"http://s{i}.example/{sid}",
                title=f"story {sid}",
                summary="",
                published=T0 + timedelta(minutes=minutes + i),
                lang="en",
                source=f"S{i}",
            ),
        )
        for i in range(n_sources)
    )
    return StoryInput(sid, arts, frozenset(facts), frozenset(watches))


def test_sections_ranking_top_n_and_counts() -> None:
    stories = [
        story(1, 1, facts={"b"}, minutes=50),
        story(2, 3, facts={"a", "b"}),  # under A only (its first section)
        story(3, 1, facts={"a"}, minutes=40),
        story(4, 2, facts={"a"}),
        story(5, 1, watches={"7"}),
        story(6, 1),  # relevant, matched nothing: "other"
        story(7, 1, relevant=False),  # neither: left out
        story(8, 1, facts={"b"}, minutes=10),
    ]
    d = compose_digest(
        stories,
        facts=FACTS,
        watches={"7": "my watch"},
        window_start=T0,
        window_end=T0,
        alerted={3},
        facts_seen_before={"b"},
        top_n=2,
    )
    assert [(s.ref, s.title) for s in d.sections] == [
        ("a", "Fact A"),
        ("b", "Fact B"),
        ("7", "my watch"),
        ("other", OTHER_TITLE),
    ]
    a, b, w, o = d.sections
    assert [s.story_id for s in a.stories] == [2, 4] and a.more == 1  # by sources, then recency
    assert [s.story_id for s in b.stories] == [1, 8] and b.more == 0  # same sources: newest first
    assert [s.story_id for s in w.stories] == [5] and [s.story_id for s in o.stories] == [6]
    assert len(a.stories[0].sources) == 3
    assert d.story_count == 7 and d.article_count == 10
    assert [f.ref for f in d.new_facts] == ["a"]
    all_lines = [s for sec in d.sections for s in sec.stories]
    assert len({s.story_id for s in all_lines}) == len(all_lines)
    d2 = compose_digest(
        stories,
        facts=FACTS,
        watches={},
        window_start=T0,
        window_end=T0,
        fact_filter={"b"},
        alerted={3},
        top_n=10,
    )
    assert [s.ref for s in d2.sections] == ["b", "other"]
    assert 3 not in [s.story_id for sec in d2.sections for s in sec.stories], "filtered-out fact only"


def test_every_story_when_top_n_is_none() -> None:
    stories = [story(i, 1, facts={"a"}, minutes=i) for i in range(1, 9)]
    d = compose_digest(stories, facts=FACTS, watches={}, window_start=T0, window_end=T0, top_n=None)
    [a] = d.sections
    assert len(a.stories) == 8 and a.more == 0
    capped = compose_digest(stories, facts=FACTS, watches={}, window_start=T0, window_end=T0, top_n=5)
    assert len(capped.sections[0].stories) == 5 and capped.sections[0].more == 3


def test_each_outlet_is_named_once_per_story() -> None:
    base = story(1, 3, facts={"a"})
    same_outlet = tuple(
        dataclasses.replace(a, article=dataclasses.replace(a.article, source="Yonhap" if i < 2 else "TASS"))
        for i, a in enumerate(base.articles)
    )
    line = dataclasses.replace(base, articles=same_outlet).line(alerted=False)
    assert [(x.name, x.url) for x in line.sources] == [
        ("Yonhap", "http://s0.example/1"),
        ("TASS", "http://s2.example/1"),
    ]


def test_markdown_links_each_url_once_and_shows_the_zone() -> None:
    d = compose_digest(
        [story(1, 2, facts={"a"})],
        facts=FACTS,
        watches={},
        window_start=T0,
        window_end=T0 + timedelta(hours=1),
        zone="Asia/Seoul",
    )
    md = render(d, "markdown")
    assert md.count("http://s0.example/1") == 1, md
    assert "- [story 1](http://s0.example/1) — S0, [S1](http://s1.example/1)" in md
    assert "2026-11-02 17:00 – 2026-11-02 18:00 KST" in md
    assert "2026-11-02 17:00 – 2026-11-02 18:00 KST" in render(d, "text")


def test_trend_series_counts_distinct_stories_per_fact_per_day() -> None:
    today = date(2026, 11, 8)
    rows = [
        (1, "a", datetime(2026, 11, 8, 1, tzinfo=UTC)),
        (2, "a", datetime(2026, 11, 8, 23, tzinfo=UTC)),
        (2, "b", datetime(2026, 11, 6, 5, tzinfo=UTC)),
        (3, "a", datetime(2026, 11, 2, 5, tzinfo=UTC)),
        (4, "a", datetime(2026, 11, 1, 5, tzinfo=UTC)),  # before the 7-day window
        (5, "zzz", datetime(2026, 11, 8, 5, tzinfo=UTC)),  # not in the catalog
    ]
    axis, series = trend_series(rows, FACTS, days=7, today=today)
    assert axis[0] == date(2026, 11, 2) and axis[-1] == today
    assert series == {"a": [1, 0, 0, 0, 0, 0, 2], "b": [0, 0, 0, 0, 1, 0, 0]}


def test_trend_series_counts_days_in_the_given_zone() -> None:
    seoul = ZoneInfo("Asia/Seoul")
    rows = [
        (1, "a", datetime(2026, 11, 7, 16, tzinfo=UTC)),  # 11-08 01:00 in Seoul
        (2, "a", datetime(2026, 11, 7, 14, tzinfo=UTC)),  # 11-07 23:00 in Seoul
        (3, "b", datetime(2026, 11, 8, 14, 59, tzinfo=UTC)),  # 11-08 23:59 in Seoul
    ]
    _, series = trend_series(rows, FACTS, days=2, today=date(2026, 11, 8), zone=seoul)
    assert series == {"a": [1, 1], "b": [0, 1]}
    _, in_utc = trend_series(rows, FACTS, days=2, today=date(2026, 11, 8))
    assert in_utc == {"a": [2, 0], "b": [0, 1]}, "the same stories on UTC days"


async def test_trend_png_decodes(svc: Services, clock: FakeClock) -> None:
    from PIL import Image

    await ingest(
        svc,
        [
            article(i, f"North Korea Russia treaty {i}", published=clock() - timedelta(days=i))
            for i in range(3)
        ],
    )
    png = await svc.digests.trend_png(days=7)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(png))
    # A facts × days heat map: a row per fact of the catalog, a column per day.
    assert img.format == "PNG" and img.size[0] >= 800 and img.size[1] > 100 + 30 * len(svc.facts)


async def test_weekly_digest_carries_the_chart_through_the_outbox(svc: Services, clock: FakeClock) -> None:
    from bot.models import PAYLOAD_ADAPTER, Digest

    sub = await svc.store.upsert_subscription(
        platform="console", channel="w", now=clock(), digest_cron="0 8 * * 1"
    )
    await ingest(svc, [article(1, "North Korea Russia treaty weekly", published=clock())])
    clock.advance(minutes=1)
    assert await svc.digests.run(sub) == 1
    d = PAYLOAD_ADAPTER.validate_json((await svc.store.deliveries_for(sub.id))[-1].payload)
    assert isinstance(d, Digest) and d.chart_png is not None and d.chart_png.startswith(b"\x89PNG")


async def test_cli_digest_prints_every_stored_story_as_json(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    from bot.cli import _print_digest
    from bot.digest.render import parse_since
    from tests.conftest import KeywordMatcher

    settings = make_settings(seed_first_poll=True)
    import bot.app as app

    async with app.build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS
    ) as svc:
        # A seeded backlog (no router): still in the CLI digest.
        await ingest(
            svc,
            [article(i, f"North Korea Russia kursk {i}", published=clock()) for i in range(2)],
            seeded=True,
        )
    out = io.StringIO()
    orig = app.build_services

    def patched(s: Any, **kw: Any) -> Any:
        return orig(s, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, **kw)

    app.build_services = patched  # type: ignore[assignment]
    try:
        assert await _print_digest(settings, parse_since("24h"), None, "json", out) == 0
    finally:
        app.build_services = orig  # type: ignore[assignment]
    doc = json.loads(out.getvalue())
    assert doc["story_count"] == 2 and doc["sections"][0]["ref"] == "troops_kursk"
