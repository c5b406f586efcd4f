"""Routing: which subscriptions get an alert for a matched article, under which key, with what payload.

``plan_alerts``/``alert_hits``/``story_key`` are pure; the subscription and watch rows are the store's own
row types (built directly for the mode matrix, and read back from a real store where the key meets the
outbox's de-duplication)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.delivery.routing import alert_hits, plan_alerts, story_key
from bot.models import Alert, Article, Evidence, Fact, Hit, Label, MatchResult
from bot.store.repo import PlannedDelivery, Store, SubscriptionRow, WatchRow
from tests.conftest import FakeClock

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MAX_AGE = timedelta(hours=6)

FACTS = {
    "treaty_signed": Fact("treaty_signed", "Treaty signed", "s", "alert", "treaty"),
    "troops_kursk": Fact("troops_kursk", "Troops in Kursk", "s", "digest", "kursk"),
    "arms_deal": Fact("arms_deal", "Arms deal", "s", "alert", "arms"),
}


def _watch(
    wid: int, *, channel: str = "chan-a", platform: str = "discord", alert: bool = True, label: str = ""
) -> WatchRow:
    return WatchRow(
        id=wid,
        platform=platform,
        tenant="discord:g1",
        channel=channel,
        query=f"query{wid}",
        label=label,
        alert=alert,
        created_by="u1",
        created_at=NOW,
    )


WATCHES = {
    "1": _watch(1, alert=True, label="Kursk front"),  # chan-a, alerts on
    "2": _watch(2, alert=False),  # chan-a, alerts off
    "3": _watch(3, channel="chan-b"),  # another channel's
    "4": _watch(4, platform="slack"),  # same channel name on another platform
}


def _sub(sub_id: int = 7, **kw: object) -> SubscriptionRow:
    values: dict[str, object] = {
        "id": sub_id,
        "platform": "discord",
        "tenant": "discord:g1",
        "channel": "chan-a",
        "facts": None,
        "alerts": "all",
        "digest_cron": None,
        "timezone": "UTC",
        "mention_role": None,
        "empty_digest": "skip",
        "quiet_start": None,
        "quiet_end": None,
        "paused": False,
        "paused_reason": None,
        "origin": "chat",
        "last_digest_at": None,
        "created_at": NOW,
    }
    values.update(kw)
    return SubscriptionRow(**values)  # type: ignore[arg-type]


def _article(*, url: str = "https://news.example/a", published: datetime | None = None, **kw: str) -> Article:
    values: dict[str, object] = {
        "feed_url": "https://feed.example/rss",
        "entry_id": url,
        "url": url,
        "title": "Russia and North Korea sign treaty",
        "summary": "Troops near Kursk",
        "published": published or NOW - timedelta(minutes=10),
        "lang": "en",
        "source": "Example News",
    }
    values.update(kw)
    return Article(**values)  # type: ignore[arg-type]


def _ev(word: str) -> Evidence:
    return Evidence(terms=(word,), snippet=f"... {word} ...", highlights=((4, 4 + len(word)),))


def _hit(kind: str, ref: str) -> Hit:
    return Hit(kind=kind, ref=ref, source=_ev(ref))  # type: ignore[arg-type]


MATCH = MatchResult(
    relevant=True,
    facts=(_hit("fact", "treaty_signed"), _hit("fact", "troops_kursk"), _hit("fact", "arms_deal")),
    watches=tuple(_hit("watch", w) for w in ("1", "2", "3", "4")),
)


def _refs(sub: SubscriptionRow, match: MatchResult = MATCH) -> tuple[list[str], list[str]]:
    fact_hits, watch_hits = alert_hits(sub, match, facts=FACTS, watches=WATCHES)
    return [h.ref for h in fact_hits], [h.ref for h in watch_hits]


def _plan(
    subs: list[SubscriptionRow], *, article: Article | None = None, **kw: object
) -> list[PlannedDelivery]:
    return plan_alerts(
        42,
        article or _article(),
        kw.pop("match", MATCH),  # type: ignore[arg-type]
        subscriptions=subs,
        facts=FACTS,
        watches=WATCHES,
        now=kw.pop("now", NOW),  # type: ignore[arg-type]
        max_age=MAX_AGE,
        **kw,  # type: ignore[arg-type]
    )


# --- alerts modes ----------------------------------------------------------------------------------


def test_alerts_off_gets_nothing() -> None:
    assert _refs(_sub(alerts="off")) == ([], [])
    assert _plan([_sub(alerts="off")]) == []


def test_alerts_facts_only_alert_priority_facts_and_no_watches() -> None:
    assert _refs(_sub(alerts="facts")) == (["treaty_signed", "arms_deal"], [])


def test_alerts_facts_respects_the_fact_filter() -> None:
    assert _refs(_sub(alerts="facts", facts=("arms_deal", "troops_kursk"))) == (["arms_deal"], [])
    # Only a digest-priority fact in the filter: nothing to alert on.
    assert _refs(_sub(alerts="facts", facts=("troops_kursk",))) == ([], [])
    assert _plan([_sub(alerts="facts", facts=("troops_kursk",))]) == []


def test_alerts_watches_only_the_channels_own_alert_watches() -> None:
    # Not watch 2 (alerts off), 3 (another channel), 4 (another platform); no facts at all.
    assert _refs(_sub(alerts="watches")) == ([], ["1"])
    assert _refs(_sub(alerts="watches", channel="chan-b")) == ([], ["3"])
    assert _refs(_sub(alerts="watches", platform="slack")) == ([], ["4"])


def test_alerts_all_every_fact_in_the_filter_and_every_watch_of_the_channel() -> None:
    assert _refs(_sub(alerts="all")) == (["treaty_signed", "troops_kursk", "arms_deal"], ["1", "2"])
    assert _refs(_sub(alerts="all", facts=("troops_kursk",))) == (["troops_kursk"], ["1", "2"])


def test_hits_for_unknown_facts_or_watches_are_ignored() -> None:
    match = MatchResult(relevant=True, facts=(_hit("fact", "retired_fact"),), watches=(_hit("watch", "99"),))
    assert _refs(_sub(alerts="all"), match) == ([], [])
    assert _plan([_sub(alerts="all")], match=match) == []


def test_paused_subscription_gets_nothing() -> None:
    paused = _sub(alerts="all", paused=True, paused_reason="403")
    assert _refs(paused) == ([], [])
    assert _plan([paused, _sub(8, channel="chan-b", alerts="all")])[0].subscription_id == 8
    assert len(_plan([paused, _sub(8, channel="chan-b", alerts="all")])) == 1


def test_no_match_no_alert() -> None:
    assert _plan([_sub(alerts="all")], match=MatchResult(relevant=True)) == []


# --- age -------------------------------------------------------------------------------------------


def test_items_older_than_max_age_get_nothing() -> None:
    subs = [_sub(alerts="all")]
    assert _plan(subs, article=_article(published=NOW - MAX_AGE - timedelta(seconds=1))) == []
    assert len(_plan(subs, article=_article(published=NOW - MAX_AGE))) == 1
    assert len(_plan(subs, article=_article(published=NOW - timedelta(minutes=1)))) == 1


# --- keys ------------------------------------------------------------------------------------------


def test_same_story_id_gives_the_same_key_whatever_the_url() -> None:
    a = _plan([_sub()], article=_article(url="https://one.example/x"), story_id=5)
    b = _plan([_sub()], article=_article(url="https://two.example/y", source="Other"), story_id=5)
    c = _plan([_sub()], article=_article(url="https://one.example/x"), story_id=6)
    assert a[0].key == b[0].key
    assert a[0].key != c[0].key
    assert a[0].story_id == 5 and c[0].story_id == 6


def test_without_a_story_the_same_url_gives_the_same_key() -> None:
    one = _article(url="https://news.example/a", feed_url="https://f1.example/rss", entry_id="g1")
    two = _article(
        url="https://news.example/a", feed_url="https://f2.example/rss", entry_id="g2", title="Copy"
    )
    other = _article(url="https://news.example/b")
    k1 = _plan([_sub()], article=one)[0].key
    assert k1 == _plan([_sub()], article=two)[0].key
    assert k1 != _plan([_sub()], article=other)[0].key
    assert story_key(one, None) == story_key(two, None) != story_key(other, None)
    assert story_key(one, 3) == story_key(other, 3) != story_key(one, None)


def test_key_is_per_subscription() -> None:
    planned = _plan([_sub(1), _sub(2, channel="chan-b")], story_id=5)
    assert [p.subscription_id for p in planned] == [1, 2]
    assert planned[0].key != planned[1].key


async def test_second_copy_of_a_story_is_a_no_op_in_the_outbox(store: Store, clock: FakeClock) -> None:
    """With rows read from a real store: the copies' keys collide in the outbox, so one alert per story."""
    sub = await store.upsert_subscription(
        platform="discord", channel="chan-a", tenant="discord:g1", now=clock(), alerts="facts"
    )
    first = plan_alerts(
        1, _article(url="https://a.example/1"), MATCH,
        subscriptions=[sub], facts=FACTS, watches={}, now=clock(), max_age=MAX_AGE, story_id=9,
    )  # fmt: skip
    copy = plan_alerts(
        2, _article(url="https://b.example/2"), MATCH,
        subscriptions=[sub], facts=FACTS, watches={}, now=clock(), max_age=MAX_AGE, story_id=9,
    )  # fmt: skip
    no_story = plan_alerts(
        3, _article(url="https://c.example/3"), MATCH,
        subscriptions=[sub], facts=FACTS, watches={}, now=clock(), max_age=MAX_AGE,
    )  # fmt: skip
    assert await store.enqueue(first, now=clock()) == 1
    assert await store.enqueue(copy, now=clock()) == 0
    assert await store.enqueue(no_story, now=clock()) == 1
    rows = await store.deliveries_for(sub.id)
    assert [(r.kind, r.story_id) for r in rows] == [("alert", 9), ("alert", None)]


# --- payload ---------------------------------------------------------------------------------------


def test_payload_copies_the_article_and_names_the_hits() -> None:
    article = _article(title="Treaty text published", source="Wire", lang="ko")
    [planned] = _plan(
        [_sub(alerts="all", facts=("troops_kursk", "treaty_signed"))], article=article, story_id=3
    )
    assert planned.kind == "alert"
    assert planned.status == "pending"
    payload = planned.payload
    assert isinstance(payload, Alert)
    assert (payload.article_id, payload.title, payload.url) == (42, "Treaty text published", article.url)
    assert (payload.source, payload.published, payload.lang) == ("Wire", article.published, "ko")
    # Labels in match order, fact titles from the catalog, watch titles: the label, else the query.
    assert payload.facts == (
        Label("treaty_signed", "Treaty signed"),
        Label("troops_kursk", "Troops in Kursk"),
    )
    assert payload.watches == (Label("1", "Kursk front"), Label("2", "query2"))
    # Evidence: the first alerting fact hit's.
    assert payload.evidence == _ev("treaty_signed")


def test_payload_evidence_falls_back_to_the_first_watch_hit() -> None:
    [planned] = _plan([_sub(alerts="watches")])
    assert isinstance(planned.payload, Alert)
    assert planned.payload.facts == ()
    assert planned.payload.watches == (Label("1", "Kursk front"),)
    assert planned.payload.evidence == _ev("1")


def test_one_delivery_per_subscription_that_wants_the_article() -> None:
    subs = [
        _sub(1, alerts="off"),
        _sub(2, channel="chan-b", alerts="watches"),  # watch 3 is chan-b's
        _sub(3, channel="chan-c", alerts="watches"),  # no watch of its own
        _sub(4, channel="chan-d", alerts="facts", facts=("troops_kursk",)),  # no alert-priority fact
        _sub(5, channel="chan-e", alerts="facts"),
    ]
    planned = _plan(subs)
    assert [p.subscription_id for p in planned] == [2, 5]
    assert len({p.key for p in planned}) == 2
    assert [dataclasses.astuple(lbl) for lbl in planned[0].payload.watches] == [("3", "query3")]  # type: ignore[union-attr]
