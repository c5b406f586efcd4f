"""Watch commands: a channel's boolean queries over its server's feeds (add, list, remove, test)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.commands.gate import Gate, choices
from bot.commands.model import Caller, Choice, Reply, ReplyItem, error_reply
from bot.models import Evidence, WatchSpec
from bot.store.repo import StoredArticle, WatchRow


class WatchCommands(Gate):
    """Watches belong to their channel; changing them needs ``can_manage``."""

    async def watch_add(
        self, caller: Caller, query: str, label: str | None = None, alert: bool = False
    ) -> Reply:
        async def body() -> Reply:
            q = self._check_query(query)
            lab = " ".join(self._text(label, "label", limit=self._cfg.watch_label_max_chars).split())
            now = self._now()
            row = await self.svc.store.add_watch(
                platform=caller.platform,
                tenant=caller.tenant,
                channel=caller.channel,
                query=q,
                label=lab,
                alert=alert,
                created_by=caller.user_id,
                now=now,
                quota=self._cfg.max_watches_per_tenant,
            )
            notes = [f"Watch #{row.id} added to this channel: {q}"]
            sub = await self.svc.store.get_subscription(caller.platform, caller.channel)
            if alert and sub is None:
                await self.svc.store.upsert_subscription(
                    platform=caller.platform,
                    channel=caller.channel,
                    tenant=caller.tenant,
                    now=now,
                    alerts="watches",
                )
                notes.append("This channel is now subscribed to alerts for its watches.")
            elif alert and sub is not None and sub.alerts in ("off", "facts"):
                notes.append(
                    f"This channel's alerts are set to '{sub.alerts}', so this watch will not alert; "
                    "run subscribe with alerts 'all' or 'watches' to change that."
                )
            elif not alert:
                notes.append(
                    "Its matches appear in this channel's digests; add it with alert on for immediate posts."
                )
            return Reply(title="Watch added", body=tuple(notes), items=(_watch_item(row),), ephemeral=True)

        return await self._run(caller, body, manage=True)

    async def watch_list(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            rows = await self.svc.store.list_watches(platform=caller.platform, channel=caller.channel)
            if not rows:
                return Reply(
                    title="No watches in this channel",
                    body=('Add one with watch add, e.g. watch add "mutual defense" NEAR/5 treaty.',),
                    ephemeral=True,
                )
            return Reply(
                title=f"Watches in this channel ({len(rows)})",
                items=tuple(_watch_item(w) for w in rows),
                ephemeral=True,
            )

        return await self._run(caller, body, channel=True)

    async def watch_remove(self, caller: Caller, watch_id: str | int) -> Reply:
        async def body() -> Reply:
            wid = self._id(watch_id, "watch", "watch list")
            if not await self.svc.store.remove_watch(wid, platform=caller.platform, channel=caller.channel):
                return error_reply(
                    f"This channel has no watch #{wid}; run watch list to see its ids.", title="Unknown watch"
                )
            return Reply(
                title="Watch removed", body=(f"Watch #{wid} no longer runs in this channel.",), ephemeral=True
            )

        return await self._run(caller, body, manage=True)

    async def watch_test(self, caller: Caller, query: str) -> Reply:
        async def body() -> Reply:
            q = self._check_query(query)
            days = self._cfg.watch_test_days
            since = self._now() - timedelta(days=days)
            articles = await self.svc.store.articles_since(since, limit=self._cfg.watch_test_max_articles)
            visible = await self.svc.store.visible_feed_ids(caller.tenant)
            articles = [a for a in articles if a.feed_id in visible]
            matcher = self.svc.matchers.factory((), (WatchSpec("test", q),))

            def run() -> list[tuple[StoredArticle, Evidence]]:
                hits = []
                for a in articles:
                    m = matcher.match(a.article)
                    if m.watches:
                        hits.append((a, m.watches[0].evidence))
                return hits

            # Matching thousands of articles takes a moment: keep it off the event loop.
            hits = await asyncio.to_thread(run)
            hits.sort(key=lambda h: h[0].first_seen, reverse=True)
            shown = hits[: self._cfg.command_list_max]
            items = tuple(
                ReplyItem(
                    title=a.article.title,
                    url=a.article.url,
                    lines=(a.article.source,),
                    evidence=ev,
                    time=a.article.published,
                )
                for a, ev in shown
            )
            title = f"{len(hits)} stored article{'s' if len(hits) != 1 else ''} of the last {days} days match"
            body_lines = [f"Query: {q}"]
            if len(hits) > len(shown):
                body_lines.append(f"Showing the newest {len(shown)}.")
            if not hits:
                body_lines.append(
                    f"Nothing among {len(articles)} stored articles matched; nothing was saved."
                )
            return Reply(
                title=title,
                body=tuple(body_lines),
                items=items,
                ephemeral=True,
                footer="Not saved: run watch add to keep it.",
            )

        return await self._run(caller, body)

    async def complete_watches(self, caller: Caller, prefix: str) -> list[Choice]:
        if caller.in_dm or not caller.tenant:
            return []
        rows = await self.svc.store.list_watches(platform=caller.platform, channel=caller.channel)
        return choices(prefix, ((str(w.id), f"#{w.id} {w.label or w.query}") for w in rows))


def _watch_item(w: WatchRow) -> ReplyItem:
    lines = [f"query: {w.query}"] if w.label else []
    lines.append("alerts on" if w.alert else "digest only")
    if w.paused_reason:
        lines.append(f"paused: {w.paused_reason}")
    return ReplyItem(title=w.label or w.query, ref=f"#{w.id}", lines=tuple(lines))
