"""Read-only aggregate queries the commands need and the store does not offer (yet).

Kept here, beside their only callers, instead of growing the store for chat-only reads; each is one
SELECT, scoped to the feeds a tenant may see (the operator's and its own).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.models import Evidence
from bot.store import tables as t
from bot.store.repo import EVIDENCE_ADAPTER, Store


@dataclasses.dataclass(frozen=True, slots=True)
class MatchedArticle:
    article_id: int
    title: str
    url: str
    source: str
    published: datetime
    evidence: Evidence


def _visible(tenant: str) -> Any:
    return t.feeds.c.tenant.in_(["", tenant]) if tenant else t.feeds.c.tenant == ""


async def match_counts(store: Store, *, kind: str, since: datetime, tenant: str) -> dict[str, int]:
    """Matched articles per ref (fact or watch id) first seen since ``since``."""
    q = (
        sa.select(t.matches.c.ref, sa.func.count())
        .select_from(t.matches)
        .join(t.articles, t.articles.c.id == t.matches.c.article_id)
        .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
        .where(t.matches.c.kind == kind, t.articles.c.first_seen >= since, _visible(tenant))
        .group_by(t.matches.c.ref)
    )
    async with store.engine.connect() as c:
        return {r[0]: int(r[1]) for r in await c.execute(q)}


async def latest_matches(
    store: Store, *, kind: str, ref: str, tenant: str, limit: int
) -> list[MatchedArticle]:
    """The newest articles matched by one fact or watch, one per story."""
    q = (
        sa.select(
            t.articles.c.id,
            t.articles.c.title,
            t.articles.c.url,
            t.articles.c.source,
            t.articles.c.published,
            t.articles.c.story_id,
            t.matches.c.evidence,
        )
        .select_from(t.matches)
        .join(t.articles, t.articles.c.id == t.matches.c.article_id)
        .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
        .where(t.matches.c.kind == kind, t.matches.c.ref == ref, _visible(tenant))
        .order_by(t.articles.c.first_seen.desc(), t.articles.c.id.desc())
        .limit(limit * 5)
    )
    out: list[MatchedArticle] = []
    seen: set[int] = set()
    async with store.engine.connect() as c:
        for r in await c.execute(q):
            if r.story_id is not None:
                if r.story_id in seen:
                    continue
                seen.add(r.story_id)
            out.append(
                MatchedArticle(
                    article_id=r.id,
                    title=r.title,
                    url=r.url,
                    source=r.source,
                    published=r.published,
                    evidence=EVIDENCE_ADAPTER.validate_json(r.evidence),
                )
            )
            if len(out) >= limit:
                break
    return out


async def visible_feed_ids(store: Store, tenant: str) -> set[int]:
    """Every feed (enabled or not) whose articles ``tenant`` may see."""
    async with store.engine.connect() as c:
        return {int(r[0]) for r in await c.execute(sa.select(t.feeds.c.id).where(_visible(tenant)))}
