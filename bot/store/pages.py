"""Article pages: the page work that survives restarts (one row per canonical URL), and the page text
applied to the articles that link it (their text, source and the matches found in it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import MatchResult
from bot.store import tables as t
from bot.store.base import StoreBase
from bot.store.rows import MATCH_COLUMNS, StoredArticle, articles_with_feed_url, match_values, stored_article


@dataclasses.dataclass(frozen=True, slots=True)
class PageRow:
    url: str
    state: str  # "pending" | "done" | "failed"
    attempts: int
    next_try_at: datetime
    text: str
    http_status: int | None
    error: str | None
    fetched_at: datetime | None


def _page_row(r: sa.Row[Any]) -> PageRow:
    return PageRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(PageRow)})


class PagesMixin(StoreBase):
    async def enqueue_pages(self, urls: Sequence[str], *, now: datetime) -> None:
        """Record that these pages are wanted (state "pending", due now); a URL already known is left as
        it is, so a page is fetched once however many feeds, polls or processes ask for it."""
        rows = [
            {"url": u, "state": "pending", "next_try_at": now, "created_at": now} for u in dict.fromkeys(urls)
        ]
        if not rows:
            return

        async def fn(c: AsyncConnection) -> None:
            stmt = self._insert(t.pages).on_conflict_do_nothing(index_elements=["url"])
            await c.execute(stmt, rows)

        await self._write("enqueue_pages", fn)

    async def get_page(self, url: str) -> PageRow | None:
        return await self._fetch_first("get_page", sa.select(t.pages).where(t.pages.c.url == url), _page_row)

    async def claim_page(self, url: str, *, now: datetime, until: datetime) -> bool:
        """Take a due pending page for one fetch: pushes its ``next_try_at`` to ``until`` (a lease) in the
        same statement, so two processes never fetch it together; a fetch that dies lets the lease lapse
        and the page comes due again. False when it is not due or another process took it."""

        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.update(t.pages)
                .where(t.pages.c.url == url, t.pages.c.state == "pending", t.pages.c.next_try_at <= now)
                .values(next_try_at=until)
            )
            return bool(res.rowcount)

        return await self._write("claim_page", fn)

    async def due_pages(self, now: datetime, *, limit: int) -> list[str]:
        """The pending pages whose time has come, oldest first."""
        q = (
            sa.select(t.pages.c.url)
            .where(t.pages.c.state == "pending", t.pages.c.next_try_at <= now)
            .order_by(t.pages.c.next_try_at, t.pages.c.id)
            .limit(limit)
        )
        return await self._fetch_all("due_pages", q, lambda r: str(r.url))

    async def record_page(
        self,
        url: str,
        *,
        state: str,
        now: datetime,
        text: str = "",
        http_status: int | None = None,
        error: str | None = None,
        next_try_at: datetime | None = None,
    ) -> None:
        """The outcome of one try: "done" with its text, "failed" for good (the feed text stays), or
        "pending" again until ``next_try_at`` (a passing failure). Counts the attempt."""

        async def fn(c: AsyncConnection) -> None:
            await c.execute(
                sa.update(t.pages)
                .where(t.pages.c.url == url)
                .values(
                    state=state,
                    text=text,
                    http_status=http_status,
                    error=error,
                    attempts=t.pages.c.attempts + 1,
                    next_try_at=next_try_at or now,
                    fetched_at=now,
                )
            )

        await self._write("record_page", fn)

    async def articles_awaiting_page(self, url: str, *, since: datetime) -> list[StoredArticle]:
        """The articles linking ``url``, first seen since ``since``, still matched on their feed text and
        not a first poll's (those never alert)."""
        q = (
            articles_with_feed_url()
            .where(
                t.articles.c.url == url,
                t.articles.c.text_source == "feed",
                ~t.articles.c.seeded,
                t.articles.c.first_seen >= since,
            )
            .order_by(t.articles.c.id)
        )
        return await self._fetch_all("articles_awaiting_page", q, stored_article)

    async def apply_page_text(self, items: Sequence[tuple[int, str, MatchResult]]) -> None:
        """Each (article id, page text, match on title + page text): store the text as the article's, its
        relevance (an article the feed text made relevant stays so) and the hits found in the page; a hit
        the feed text already had keeps its feed evidence."""
        if not items:
            return

        async def fn(c: AsyncConnection) -> None:
            for aid, body, m in items:
                values: dict[str, Any] = {"body": body, "text_source": "page"}
                if m.relevant:
                    values["relevant"] = True
                await c.execute(sa.update(t.articles).where(t.articles.c.id == aid).values(**values))
            hits = [row for aid, _, m in items for row in match_values(aid, m, "page")]
            await self._insert_rows(c, t.matches, MATCH_COLUMNS, hits)

        await self._write("apply_page_text", fn)

    async def match_sources(self, article_id: int) -> dict[tuple[str, str], str]:
        """(kind, ref) → "feed" or "page": which text each of one article's matches was found in."""

        async def fn(c: AsyncConnection) -> dict[tuple[str, str], str]:
            rows = await c.execute(
                sa.select(t.matches.c.kind, t.matches.c.ref, t.matches.c.text_source).where(
                    t.matches.c.article_id == article_id
                )
            )
            return {(r.kind, r.ref): r.text_source for r in rows}

        return await self._read("match_sources", fn)
