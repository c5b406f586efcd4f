"""What the store hands out: one frozen dataclass per kind of row, and the conversions from database rows
(and the column values for new ones) that more than one part of the store shares."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from bot.models import (
    EVIDENCE_ADAPTER,
    FULL_TEXT_MODES,
    PAYLOAD_ADAPTER,
    Article,
    Evidence,
    FeedSpec,
    MatchResult,
    Payload,
    evidence_json,
)
from bot.store import tables as t

__all__ = ["EVIDENCE_ADAPTER"]


@dataclasses.dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    url: str
    tenant: str
    name: str
    language: str | None
    interval_s: int | None
    origin: str
    enabled: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    seeded: bool
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    failure_count: int
    next_poll_at: datetime | None
    items_count: int
    created_at: datetime
    full_text: str | None = None  # "auto" | "always" | "never"; None: the full_text setting

    @property
    def spec(self) -> FeedSpec:
        return FeedSpec(
            url=self.url,
            name=self.name,
            language=self.language,
            interval=self.interval_s,
            origin="chat" if self.origin == "chat" else "operator",
            tenant=self.tenant or None,
            full_text=self.full_text if self.full_text in FULL_TEXT_MODES else None,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class WatchRow:
    id: int
    platform: str
    tenant: str
    channel: str
    query: str
    label: str
    alert: bool
    created_by: str
    created_at: datetime
    paused_reason: str | None = None  # why it is no longer matched (too much work), if so


@dataclasses.dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: int
    platform: str
    tenant: str
    channel: str
    facts: tuple[str, ...] | None
    alerts: str
    digest_cron: str | None
    timezone: str
    mention_role: str | None
    empty_digest: str
    quiet_start: str | None
    quiet_end: str | None
    paused: bool
    paused_reason: str | None
    origin: str
    last_digest_at: datetime | None
    created_at: datetime
    summary_clock_at: datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    feed_id: int
    article: Article
    relevant: bool
    seeded: bool
    first_seen: datetime
    story_id: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class MatchedArticle:
    """One article a fact or watch matched, for the chat commands."""

    article_id: int
    title: str
    url: str
    source: str
    published: datetime
    evidence: Evidence | None  # None: not kept (a first poll's hit; see ``models.NOT_KEPT``)


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """A delivery to enqueue: ``key`` is unique per (subscription, item), so enqueueing twice is a no-op."""

    key: str
    subscription_id: int
    kind: Literal["alert", "digest", "summary"]
    payload: Payload
    story_id: int | None = None
    status: Literal["pending", "held"] = "pending"
    not_before: datetime | None = None


def feed_row(r: sa.Row[Any]) -> FeedRow:
    return FeedRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(FeedRow)})


def watch_row(r: sa.Row[Any]) -> WatchRow:
    return WatchRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(WatchRow)})


def subscription_row(r: sa.Row[Any]) -> SubscriptionRow:
    values = {f.name: getattr(r, f.name) for f in dataclasses.fields(SubscriptionRow)}
    values["facts"] = tuple(json.loads(r.facts)) if r.facts is not None else None
    return SubscriptionRow(**values)


def articles_with_feed_url() -> sa.Select[Any]:
    """SELECT every article column and its feed's URL as ``feed_url`` (what ``stored_article`` reads)."""
    return sa.select(t.articles, t.feeds.c.url.label("feed_url")).join(
        t.feeds, t.feeds.c.id == t.articles.c.feed_id
    )


def stored_article(r: sa.Row[Any]) -> StoredArticle:
    """A row of ``articles_with_feed_url()``."""
    return StoredArticle(
        id=r.id,
        feed_id=r.feed_id,
        article=Article(
            feed_url=r.feed_url,
            entry_id=r.entry_id,
            url=r.url,
            title=r.title,
            summary=r.summary,
            published=r.published,
            lang=r.lang,
            source=r.source,
            published_known=r.published_known,
            body=r.body,
            text_source="page" if r.text_source == "page" else "feed",
        ),
        relevant=r.relevant,
        seeded=r.seeded,
        first_seen=r.first_seen,
        story_id=r.story_id,
    )


def article_values(feed_id: int, a: Article, *, now: datetime, seeded: bool) -> dict[str, Any]:
    """The articles row for a newly seen article."""
    return {
        "feed_id": feed_id,
        "entry_id": a.entry_id,
        "url": a.url,
        "title": a.title,
        "summary": a.summary,
        "published": a.published,
        "published_known": a.published_known,
        "first_seen": now,
        "lang": a.lang,
        "source": a.source,
        "seeded": seeded,
        "body": a.body if a.text_source == "page" else "",
        "text_source": a.text_source,
    }


MATCH_COLUMNS = ("article_id", "kind", "ref", "evidence", "text_source")


def match_values(
    article_id: int, m: MatchResult, text_source: str = "feed"
) -> list[tuple[int, str, str, str, str]]:
    """The matches rows of one article (``MATCH_COLUMNS``): every fact/watch hit, then its relevance
    evidence if any; ``text_source`` says which text they were found in (the feed's or the page's)."""
    rows: list[tuple[int, str, str, str, str]] = [
        (article_id, h.kind, h.ref, evidence_json(h.source), text_source) for h in (*m.facts, *m.watches)
    ]
    if m.relevance is not None:
        rows.append((article_id, "relevance", "", evidence_json(m.relevance), text_source))
    return rows


def delivery_values(p: PlannedDelivery, now: datetime) -> dict[str, Any]:
    """The outbox row for a planned delivery."""
    return {
        "key": p.key,
        "subscription_id": p.subscription_id,
        "kind": p.kind,
        "story_id": p.story_id,
        "payload": PAYLOAD_ADAPTER.dump_json(p.payload).decode(),
        "status": p.status,
        "not_before": p.not_before or now,
        "created_at": now,
    }


def visible_to(tenant: str) -> sa.ColumnElement[bool]:
    """Feeds whose articles ``tenant`` may see: the operator's (tenant "") and its own."""
    return t.feeds.c.tenant.in_(["", tenant]) if tenant else t.feeds.c.tenant == ""
