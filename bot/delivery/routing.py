"""Routing: which subscriptions get an immediate alert for a newly matched article. Pure functions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.models import Alert, Article, Fact, Hit, Label, MatchResult
from bot.store.repo import PlannedDelivery, SubscriptionRow, WatchRow


def story_key(article: Article, story_id: int | None) -> str:
    """What "the same story" means for alert de-duplication: the clustered story when known, else the
    canonical URL (so two feeds carrying one link alert once)."""
    if story_id is not None:
        return f"s{story_id}"
    return "u" + hashlib.sha1(article.url.encode("utf-8")).hexdigest()[:20]


def alert_hits(
    sub: SubscriptionRow,
    match: MatchResult,
    *,
    facts: Mapping[str, Fact],
    watches: Mapping[str, WatchRow],
) -> tuple[list[Hit], list[Hit]]:
    """The fact and watch hits that ``sub`` alerts on, per its alerts mode.

    - ``facts``: facts with priority "alert" (within the subscription's fact filter);
    - ``watches``: the channel's own watches that have alerts on;
    - ``all``: every fact in the filter and every watch of the channel;
    - ``off``: nothing.
    """
    if sub.alerts == "off" or sub.paused:
        return [], []
    fact_hits: list[Hit] = []
    if sub.alerts in ("facts", "all"):
        for h in match.facts:
            if sub.facts is not None and h.ref not in sub.facts:
                continue
            fact = facts.get(h.ref)
            if fact is None:
                continue
            if sub.alerts == "facts" and fact.priority != "alert":
                continue
            fact_hits.append(h)
    watch_hits: list[Hit] = []
    if sub.alerts in ("watches", "all"):
        for h in match.watches:
            w = watches.get(h.ref)
            if w is None or w.platform != sub.platform or w.channel != sub.channel:
                continue
            if sub.alerts == "watches" and not w.alert:
                continue
            watch_hits.append(h)
    return fact_hits, watch_hits


def plan_alerts(
    article_id: int,
    article: Article,
    match: MatchResult,
    *,
    subscriptions: Sequence[SubscriptionRow],
    facts: Mapping[str, Fact],
    watches: Mapping[str, WatchRow],
    now: datetime,
    max_age: timedelta,
    story_id: int | None = None,
) -> list[PlannedDelivery]:
    """One alert per subscription that wants this article; none for items older than ``max_age``.

    The delivery key is (subscription, story), so whichever copy of a story arrives first alerts and
    later copies are no-ops in the outbox."""
    if now - article.published > max_age:
        return []
    planned: list[PlannedDelivery] = []
    skey = story_key(article, story_id)
    for sub in subscriptions:
        fact_hits, watch_hits = alert_hits(sub, match, facts=facts, watches=watches)
        if not fact_hits and not watch_hits:
            continue
        evidence = (fact_hits or watch_hits)[0].evidence
        payload = Alert(
            article_id=article_id,
            title=article.title,
            url=article.url,
            source=article.source,
            published=article.published,
            lang=article.lang,
            facts=tuple(Label(ref=h.ref, title=facts[h.ref].title) for h in fact_hits),
            watches=tuple(Label(ref=h.ref, title=watch_title(watches[h.ref])) for h in watch_hits),
            evidence=evidence,
            zone=sub.timezone,
        )
        planned.append(
            PlannedDelivery(
                key=f"alert:{sub.id}:{skey}",
                subscription_id=sub.id,
                kind="alert",
                payload=payload,
                story_id=story_id,
            )
        )
    return planned


def watch_title(w: WatchRow) -> str:
    return w.label or w.query
