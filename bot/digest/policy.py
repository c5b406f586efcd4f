"""The alert policy: which planned alerts go out now and which are held.

- a story alerts once per channel, whichever copy arrives first (the key is ``alert:{sub}:s{story}``,
  and a key already in the outbox is not counted again);
- at most ``alerts_per_channel_per_hour`` alerts per channel per rolling hour;
- none during a channel's quiet hours (local time, may wrap midnight);
- items older than ``alert_max_age_hours`` never alert (``plan_alerts`` drops them).
Held alerts are never dropped: a channel with a digest schedule gets them in its next digest (marked
rolled when the digest is enqueued); a channel without one gets an hourly ``Summary``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.delivery.routing import plan_alerts
from bot.digest.clustering import StoryClusterer
from bot.models import Article, Fact
from bot.poller import MatcherCache, NewArticle
from bot.schedule import is_quiet
from bot.store.locks import LockKey
from bot.store.repo import PlannedDelivery, Store, SubscriptionRow

HOUR = timedelta(hours=1)


def in_quiet_hours(sub: SubscriptionRow, now: datetime) -> bool:
    """Whether ``now`` falls in the subscription's quiet hours (its local time; may wrap midnight)."""
    return is_quiet(sub.quiet_start, sub.quiet_end, now, sub.timezone)


def apply_policy(
    planned: Sequence[PlannedDelivery],
    *,
    subscriptions: Mapping[int, SubscriptionRow],
    sent_last_hour: Mapping[int, int],
    cap: int,
    now: datetime,
) -> list[PlannedDelivery]:
    """Decide pending or held for each new alert, in order. Pure."""
    counts = dict(sent_last_hour)
    out: list[PlannedDelivery] = []
    for p in planned:
        sub = subscriptions[p.subscription_id]
        if in_quiet_hours(sub, now) or counts.get(sub.id, 0) >= cap:
            out.append(dataclasses.replace(p, status="held"))
            continue
        counts[sub.id] = counts.get(sub.id, 0) + 1
        out.append(dataclasses.replace(p, status="pending"))
    return out


def as_fed(article: Article) -> Article:
    """The article as its feed gave it (without the page text)."""
    if article.text_source == "feed":
        return article
    return dataclasses.replace(article, body="", text_source="feed")


class StoryRouter:
    """The poller's router: assigns new articles to stories, then plans each subscription's alerts (one
    per story) and decides, by the alert policy, which go out now and which are held."""

    def __init__(
        self,
        store: Store,
        facts: tuple[Fact, ...],
        *,
        matchers: MatcherCache,
        clusterer: StoryClusterer,
        alert_max_age: timedelta,
        alerts_per_hour: int,
    ) -> None:
        self.store = store
        self.facts = {f.id: f for f in facts}
        self.matchers = matchers
        self.clusterer = clusterer
        self.alert_max_age = alert_max_age
        self.alerts_per_hour = alerts_per_hour

    async def route(self, new: Sequence[NewArticle], now: datetime) -> int:
        # Stories are made of what the feeds said (an article's page text would keep it from its copies).
        stories = await self.clusterer.assign(
            [(n.id, as_fed(n.article)) for n in new],
            shingled={n.id: n.shingled for n in new if n.signed},
        )
        subs = {s.id: s for s in await self.store.list_subscriptions() if not s.paused}
        if not subs:
            return 0
        _, watches = await self.matchers.current()
        planned: dict[str, PlannedDelivery] = {}
        for n in new:
            for p in plan_alerts(
                n.id,
                n.article,
                n.match,
                subscriptions=list(subs.values()),
                facts=self.facts,
                watches=watches,
                now=now,
                max_age=self.alert_max_age,
                story_id=stories.get(n.id),
            ):
                planned.setdefault(p.key, p)  # the first copy of a story in this batch wins
        if not planned:
            return 0
        # Count, decide and enqueue as one step per database: two workers routing for one channel at
        # once must not both see the last free place under the hourly cap.
        async with self.store.locked(LockKey.ALERT_POLICY):
            existing = await self.store.existing_keys(list(planned))
            fresh = [p for k, p in planned.items() if k not in existing]
            sent = await self.store.alerts_sent_since([p.subscription_id for p in fresh], now - HOUR)
            decided = apply_policy(
                fresh, subscriptions=subs, sent_last_hour=sent, cap=self.alerts_per_hour, now=now
            )
            return await self.store.enqueue(decided, now=now)
