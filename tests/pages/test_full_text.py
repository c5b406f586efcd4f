"""Full text through the whole pipeline: a real store (SQLite, and PostgreSQL when a server answers), real
parser workers, the real matcher and fact catalog, a loopback news site, an injected clock.

Each feed is polled once empty first: a first poll's items never alert and their pages are not read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.app import Services, build_services, sync_config_subscriptions
from bot.commands import Caller, Commands
from bot.models import FeedSpec
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.pages.site import Page, Site, article_page, rss

PUBLISHED = "Mon, 02 Nov 2026 08:30:00 GMT"  # half an hour before the fake clock's start
TITLE = "Kim and Putin meet in Pyongyang"
TEASER = "The two leaders held talks."
BODY = [
    "North Korea and Russia signed a treaty on comprehensive strategic partnership on Wednesday.",
    "Under the treaty, each side will provide immediate military assistance if the other is attacked, "
    "Putin told reporters after the talks in the North Korean capital.",
    "The leaders also discussed trade, tourism and a road bridge across the Tumen river.",
]
SIDEBAR = ["North Korean troops fighting for Russia in Kursk, Seoul says"]


def feed_xml(items: list[tuple[str, str, str, str]]) -> bytes:
    return rss(items).replace(b"Tue, 10 Sep 2024 08:00:00 GMT", PUBLISHED.encode())


def settings_for(make_settings: Callable[..., Settings], db_url: str, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "full_text": "auto",
        "page_per_host_interval_seconds": 0.0,
        "page_timeout_seconds": 5.0,
        "subscriptions": [
            {"platform": "console", "channel": "facts", "alerts": "facts"},
            {"platform": "console", "channel": "watches", "alerts": "watches"},
        ],
    }
    values.update(kw)
    return make_settings(**values)


@contextlib.asynccontextmanager
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    async with build_services(settings, clock=clock, chat=False) as svc:
        await sync_config_subscriptions(svc)
        yield svc


async def seeded_feed(svc: Services, site: Site, path: str, clock: FakeClock) -> Any:
    site.pages[path] = Page(feed_xml([]), content_type="application/rss+xml")
    feed = await svc.store.ensure_feed(FeedSpec(url=site.url(path), name=path), clock())
    await svc.poller.poll_feeds([feed])
    return await svc.store.get_feed(feed.id)


def item(guid: str, link: str, teaser: str = TEASER, title: str = TITLE) -> tuple[str, str, str, str]:
    return (guid, title, link, teaser)


async def deliveries(svc: Services, channel: str) -> list[str]:
    sub = await svc.store.get_subscription("console", channel)
    assert sub is not None
    return [r.key for r in await svc.store.deliveries_for(sub.id)]


async def test_the_page_text_is_matched_stored_and_quoted(
    make_settings: Callable[..., Settings], site: Site, clock: FakeClock, db_url: str
) -> None:
    site.html("/news/1", article_page(TITLE, BODY, sidebar=SIDEBAR))
    async with services(settings_for(make_settings, db_url), clock) as svc:
        feed = await seeded_feed(svc, site, "/feed.xml", clock)
        site.pages["/feed.xml"] = Page(feed_xml([item("1", site.url("/news/1"))]), "application/rss+xml")
        report = await svc.poller.poll_feeds([feed], wait_for_pages=True)
        [new] = report.new
        assert new.article.text_source == "page"
        assert "comprehensive strategic partnership" in new.article.main_text
        assert set(new.match.fact_ids) == {"treaty_signed", "mutual_defense"}, "and not the sidebar's troops"
        stored = await svc.store.get_article(new.id)
        assert stored is not None and stored.article.text_source == "page" and stored.relevant
        assert stored.article.summary == TEASER, "the feed's own text is kept beside the page's"
        sources = await svc.store.match_sources(new.id)
        assert sources[("fact", "treaty_signed")] == "page"
        evidence = {ref: ev for kind, ref, ev in await svc.store.article_matches(new.id) if kind == "fact"}
        assert "military assistance" in evidence["mutual_defense"].snippet
        assert len(await deliveries(svc, "facts")) == 1

        why = await Commands(svc).why(
            Caller(platform="console", tenant="", channel="facts", user_id="1"), site.url("/news/1")
        )
        assert "Matched on the article page's text (fetched), not only the feed's." in why.body
        fact_items = [i for i in why.items if i.title.startswith("Fact: ")]
        assert len(fact_items) == 2 and all(i.lines == ("Found in the article's page.",) for i in fact_items)


async def test_one_fetch_per_link_across_feeds_and_restarts(
    make_settings: Callable[..., Settings], site: Site, clock: FakeClock, db_url: str
) -> None:
    site.html("/news/1", article_page(TITLE, BODY))
    settings = settings_for(make_settings, db_url)
    async with services(settings, clock) as svc:
        a = await seeded_feed(svc, site, "/a.xml", clock)
        b = await seeded_feed(svc, site, "/b.xml", clock)
        # The same link, once with tracking parameters: one canonical URL.
        site.pages["/a.xml"] = Page(feed_xml([item("a1", site.url("/news/1"))]), "application/rss+xml")
        site.pages["/b.xml"] = Page(
            feed_xml([item("b1", site.url("/news/1?utm_source=rss"))]), "application/rss+xml"
        )
        report = await svc.poller.poll_feeds([a, b], wait_for_pages=True)
        assert sorted(n.article.text_source for n in report.new) == ["page", "page"]
        assert site.count("/news/1") == 1
    clock.advance(minutes=5)
    async with services(settings, clock) as svc:  # a restart
        c = await seeded_feed(svc, site, "/c.xml", clock)
        site.pages["/c.xml"] = Page(feed_xml([item("c1", site.url("/news/1"))]), "application/rss+xml")
        [new] = (await svc.poller.poll_feeds([c], wait_for_pages=True)).new
        assert new.article.text_source == "page" and "treaty_signed" in new.match.fact_ids
    assert site.count("/news/1") == 1, "the page was read once, for three feeds and a restart"
    assert site.count("/robots.txt") == 1, "after the restart nothing was fetched, not even robots.txt"


async def test_a_slow_page_does_not_hold_the_alert(
    make_settings: Callable[..., Settings], site: Site, clock: FakeClock, db_url: str
) -> None:
    hold = asyncio.Event()
    site.pages["/news/1"] = Page(article_page(TITLE, BODY).encode(), hold=hold)
    settings = settings_for(make_settings, db_url, page_wait_seconds=0.2)
    async with services(settings, clock) as svc:
        await svc.store.add_watch(
            platform="console", tenant="", channel="watches", query="pyongyang", label="", alert=True,
            created_by="test", now=clock(), quota=10,
        )  # fmt: skip
        feed = await seeded_feed(svc, site, "/feed.xml", clock)
        site.pages["/feed.xml"] = Page(feed_xml([item("1", site.url("/news/1"))]), "application/rss+xml")
        report = await svc.poller.poll_feeds([feed])
        [new] = report.new
        # Routed on the feed text now: the watch (in the title) alerted; no fact is in the teaser.
        assert new.article.text_source == "feed" and new.match.fact_ids == ()
        assert len(await deliveries(svc, "watches")) == 1
        assert await deliveries(svc, "facts") == []
        # The page arrives: matched again, and only what it newly matched is added.
        hold.set()
        await svc.pages.drain()
        assert len(await deliveries(svc, "facts")) == 1
        assert len(await deliveries(svc, "watches")) == 1, "the story's watch alert is not sent twice"
        stored = await svc.store.get_article(new.id)
        assert stored is not None and stored.article.text_source == "page"
        # Nothing more happens on another round or drain.
        await svc.pages.drain()
        await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])
        assert len(await deliveries(svc, "facts")) == 1 and len(await deliveries(svc, "watches")) == 1
        assert site.count("/news/1") == 1


async def test_a_page_without_text_keeps_the_feed_text(
    make_settings: Callable[..., Settings], site: Site, clock: FakeClock, db_url: str
) -> None:
    site.html("/js/1", "<html><head><script>render()</script></head><body><div id=app></div></body></html>")
    site.pages["/paywall/1"] = Page(b"<html><body>Subscribe to read</body></html>", status=403)
    teaser = "North Korea and Russia signed a treaty on comprehensive strategic partnership."
    async with services(settings_for(make_settings, db_url), clock) as svc:
        feed = await seeded_feed(svc, site, "/feed.xml", clock)
        site.pages["/feed.xml"] = Page(
            feed_xml(
                [item("1", site.url("/js/1"), teaser), item("2", site.url("/paywall/1"), teaser, "Kim")]
            ),
            "application/rss+xml",
        )
        report = await svc.poller.poll_feeds([feed], wait_for_pages=True)
        assert len(report.new) == 2
        for new in report.new:
            assert new.article.text_source == "feed" and "treaty_signed" in new.match.fact_ids
        for path in ("/js/1", "/paywall/1"):
            page = await svc.store.get_page(site.url(path))
            assert page is not None and page.state == "failed" and page.error
        assert len(await deliveries(svc, "facts")) == 1, "one story, alerted once on the feed text"


async def test_full_text_never_and_general_news_fetch_nothing(
    make_settings: Callable[..., Settings], site: Site, clock: FakeClock, db_url: str
) -> None:
    site.html("/news/1", article_page(TITLE, BODY))
    site.html("/news/2", article_page("Rain expected", ["Rain is expected on Friday."]))
    async with services(settings_for(make_settings, db_url), clock) as svc:
        feed = await seeded_feed(svc, site, "/feed.xml", clock)
        site.pages["/feed.xml"] = Page(
            feed_xml([item("2", site.url("/news/2"), "Rain on Friday.", "Rain expected across the south")]),
            "application/rss+xml",
        )
        await svc.poller.poll_feeds([feed], wait_for_pages=True)
        assert site.count("/news/2") == 0, "general news does not pass the pre-gate"
    async with services(settings_for(make_settings, db_url, full_text="never"), clock) as svc:
        feed = await seeded_feed(svc, site, "/never.xml", clock)
        site.pages["/never.xml"] = Page(feed_xml([item("1", site.url("/news/1"))]), "application/rss+xml")
        [new] = (await svc.poller.poll_feeds([feed], wait_for_pages=True)).new
        assert new.article.text_source == "feed" and site.count("/news/1") == 0


async def test_a_page_that_fails_for_now_is_read_after_a_restart(
    make_settings: Callable[..., Settings], site: Site, clock: FakeClock, db_url: str
) -> None:
    """A 503 keeps the page pending in the database; a later round of another process reads it, and the
    item is matched again and alerts on what the page adds."""
    site.pages["/news/1"] = Page(b"busy", status=503)
    settings = settings_for(make_settings, db_url, page_retry_seconds=60.0)
    async with services(settings, clock) as svc:
        feed = await seeded_feed(svc, site, "/feed.xml", clock)
        site.pages["/feed.xml"] = Page(feed_xml([item("1", site.url("/news/1"))]), "application/rss+xml")
        [new] = (await svc.poller.poll_feeds([feed], wait_for_pages=True)).new
        assert new.article.text_source == "feed" and new.match.fact_ids == ()
        page = await svc.store.get_page(site.url("/news/1"))
        assert page is not None and page.state == "pending" and page.attempts == 1
        assert await deliveries(svc, "facts") == []
    site.html("/news/1", article_page(TITLE, BODY))
    clock.advance(minutes=2)
    async with services(settings, clock) as svc:  # a restart
        await svc.poller.poll_due()  # the round takes up the pages that came due
        await svc.pages.drain()
        stored = await svc.store.get_article(new.id)
        assert stored is not None and stored.article.text_source == "page"
        assert len(await deliveries(svc, "facts")) == 1
    assert site.count("/news/1") == 2
