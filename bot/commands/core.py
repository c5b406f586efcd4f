"""The commands themselves: one async method per command, plain arguments in, a ``Reply`` out.

Adapters (Discord, Slack) parse their platform's payload into a ``Caller`` and plain arguments, call one
of these methods, and render the ``Reply``. Rules every command follows here, not in the adapters:

- Tenancy: watches and subscriptions belong to their channel, chat-added feeds to their tenant; the
  operator's feeds (tenant "") serve everyone and cannot be removed from chat.
- Changing anything needs ``caller.can_manage``; reading is open. Configuration replies are ephemeral.
- Channel-scoped commands in a DM answer "use this in a server channel".
- Every argument is checked (length, form) and a per-user and per-channel token bucket limits floods.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.commands.model import Attachment, Caller, Choice, Reply, ReplyField, ReplyItem, error_reply
from bot.commands.ratelimit import TokenBuckets
from bot.commands.schedule import (
    ScheduleError,
    check_timezone,
    describe_cron,
    parse_digest_schedule,
    parse_quiet_hours,
)
from bot.models import AlertsMode, Evidence, WatchSpec
from bot.store.repo import FeedRow, QuotaError, StoredArticle, SubscriptionRow, WatchRow

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)

ALERT_MODES: tuple[AlertsMode, ...] = ("off", "facts", "watches", "all")
TREND_DAYS = (7, 30)
MAX_CHOICES = 25
_ID = re.compile(r"^#?\s*(\d{1,12})$")
_ROLE = re.compile(r"^<?@?&?(\d{1,25})>?$|^([A-Z0-9]{1,32})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_OFF_WORDS = ("off", "none", "no")

DM_MESSAGE = (
    "This command works in a server channel, not in direct messages; run it in the channel it is for."
)
NO_PERMISSION = (
    "Changing pactwatch's settings needs the Manage Server permission (on Slack: a workspace admin); "
    "ask someone who has it."
)
INTERNAL_ERROR = (
    "Something went wrong on pactwatch's side; try again in a minute, and tell the operator if it keeps "
    "happening."
)

# (command, arguments, what it does) — the reference shown by `help`, in both adapters' syntax.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("watch add", "<query> [label] [alert]", "Watch this channel's feeds for a boolean query."),
    ("watch list", "", "This channel's watches."),
    ("watch remove", "<id>", "Remove one of this channel's watches."),
    ("watch test", "<query>", "Stored articles of the last days the query would match, without saving."),
    ("subscribe", "[facts] [alerts] [digest] [timezone]", "Set what this channel receives."),
    ("unsubscribe", "", "Stop all posts to this channel."),
    ("settings", "", "This channel's subscription, and whether it is paused."),
    ("resume", "", "Resume a subscription paused after the channel refused the bot."),
    ("digest now", "", "Post this channel's digest since its last one."),
    ("facts", "", "The key facts tracked, with recent match counts."),
    ("fact", "<id>", "The latest stories reporting one fact."),
    ("why", "<article link or id>", "Which facts and watches an article matched, with evidence."),
    ("feeds list", "", "Feeds polled for this server, with their health."),
    ("feeds add", "<url>", "Poll another RSS/Atom feed for this server."),
    ("feeds remove", "<id>", "Stop polling a feed this server added."),
    ("status", "", "Uptime, feed health, last poll and outbox depth."),
    ("trend", "[7|30]", "A chart of stories per fact per day."),
    ("help", "", "This list."),
)


class Commands:
    """The shared command layer. Build one per process with the composition root's ``Services``."""

    def __init__(self, svc: Services, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.svc = svc
        s = svc.settings
        self.users = TokenBuckets(
            burst=s.command_user_burst, per_minute=s.command_user_per_minute, clock=monotonic
        )
        self.channels = TokenBuckets(
            burst=s.command_channel_burst, per_minute=s.command_channel_per_minute, clock=monotonic
        )

    # --- plumbing ------------------------------------------------------------------------------

    @property
    def _s(self) -> Any:
        return self.svc.settings

    def _now(self) -> datetime:
        return self.svc.clock()

    def gate(self, caller: Caller, *, manage: bool = False, channel: bool = False) -> Reply | None:
        """The checks every command makes first: DM, permission, rate. None when it may run."""
        if (channel or manage) and (caller.in_dm or not caller.tenant):
            return error_reply(DM_MESSAGE, title="Use this in a server channel")
        if manage and not caller.can_manage:
            return error_reply(NO_PERMISSION, title="Missing permission")
        user_key = f"{caller.platform}:{caller.user_id}"
        chan_key = f"{caller.platform}:{caller.channel}"
        wait = max(self.users.wait_time(user_key), self.channels.wait_time(chan_key))
        if wait > 0:
            return error_reply(
                f"Commands are coming too fast here; try again in {max(1, round(wait))} seconds.",
                title="Slow down",
            )
        self.users.take(user_key)
        self.channels.take(chan_key)
        return None

    async def safely(self, run: Awaitable[Reply], *, what: str = "command") -> Reply:
        """Await a command; a bug or an outage becomes a logged error and a one-sentence reply."""
        try:
            return await run
        except Exception:
            log.exception("%s failed", what)
            return error_reply(INTERNAL_ERROR)

    def _text(self, value: str | None, what: str, *, limit: int | None = None) -> str:
        value = (value or "").strip()
        limit = limit or self._s.command_arg_max_chars
        if len(value) > limit:
            raise ArgumentError(f"The {what} is {len(value)} characters long; keep it under {limit + 1}.")
        if _CONTROL.search(value):
            raise ArgumentError(f"The {what} contains control characters; type it again as plain text.")
        return value

    def _id(self, value: str | int, what: str, listing: str) -> int:
        m = _ID.match(str(value).strip())
        if not m or int(m.group(1)) == 0:
            raise ArgumentError(f"'{str(value)[:40]}' is not a {what} id; run {listing} to see the ids.")
        return int(m.group(1))

    def _check_query(self, query: str) -> str:
        from bot.matching.query import parse_query

        query = " ".join(self._text(query, "query", limit=self._s.query_max_chars).split())
        if not query:
            raise ArgumentError(
                "The query is empty; give words to look for, like: treaty AND (Kursk OR troops)."
            )
        parse_query(query, max_chars=self._s.query_max_chars, max_depth=self._s.query_max_depth)
        return query

    async def _run(self, caller: Caller, body: Callable[[], Awaitable[Reply]], **gate: bool) -> Reply:
        blocked = self.gate(caller, **gate)
        if blocked is not None:
            return blocked
        from bot.matching.query import QueryError

        try:
            return await body()
        except QueryError as exc:
            return error_reply(str(exc), title="Query not understood")
        except (ArgumentError, ScheduleError) as exc:
            return error_reply(str(exc), title="Check the arguments")
        except QuotaError as exc:
            return error_reply(_sentence(str(exc)), title="Limit reached")

    # --- watches -------------------------------------------------------------------------------

    async def watch_add(
        self, caller: Caller, query: str, label: str | None = None, alert: bool = False
    ) -> Reply:
        async def body() -> Reply:
            q = self._check_query(query)
            lab = " ".join(self._text(label, "label", limit=self._s.watch_label_max_chars).split())
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
                quota=self._s.max_watches_per_tenant,
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
            days = self._s.watch_test_days
            since = self._now() - timedelta(days=days)
            articles = await self.svc.store.articles_since(since, limit=self._s.watch_test_max_articles)
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
            shown = hits[: self._s.command_list_max]
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

    # --- subscription --------------------------------------------------------------------------

    async def subscribe(
        self,
        caller: Caller,
        facts: str | None = None,
        alerts: str | None = None,
        digest: str | None = None,
        timezone: str | None = None,
        mention_role: str | None = None,
        quiet: str | None = None,
    ) -> Reply:
        """Create or change this channel's subscription; arguments left None keep their value.
        ``facts``: fact ids separated by commas or spaces, or "all". ``digest``: "08:00",
        "weekdays 08:00", a crontab, or "off". ``mention_role``: a role id, or "off". ``quiet``:
        "22:00-07:00" or "off"."""

        async def body() -> Reply:
            fields: dict[str, Any] = {}
            if facts is not None:
                fields["facts"] = self._parse_facts(facts)
            if alerts is not None:
                mode = self._text(alerts, "alerts mode").lower()
                if mode not in ALERT_MODES:
                    raise ArgumentError(f"Alerts must be one of {', '.join(ALERT_MODES)}, not '{mode[:20]}'.")
                fields["alerts"] = mode
            if digest is not None:
                fields["digest_cron"] = parse_digest_schedule(
                    self._text(digest, "digest schedule", limit=100)
                )
            if timezone is not None:
                fields["timezone"] = check_timezone(self._text(timezone, "time zone", limit=64))
            if mention_role is not None:
                fields["mention_role"] = self._parse_role(mention_role)
            if quiet is not None:
                window = parse_quiet_hours(self._text(quiet, "quiet hours", limit=20))
                fields["quiet_start"], fields["quiet_end"] = window if window else (None, None)
            existed = await self.svc.store.get_subscription(caller.platform, caller.channel)
            sub = await self.svc.store.upsert_subscription(
                platform=caller.platform,
                channel=caller.channel,
                tenant=caller.tenant,
                now=self._now(),
                **fields,
            )
            title = "Subscription updated" if existed else "Channel subscribed"
            reply = await self._describe(caller, sub, title=title)
            return reply

        return await self._run(caller, body, manage=True)

    def _parse_facts(self, text: str) -> list[str] | None:
        raw = self._text(text, "fact list")
        ids = [p for p in re.split(r"[\s,;]+", raw) if p]
        if not ids or [i.lower() for i in ids] == ["all"]:
            return None
        known = {f.id for f in self.svc.facts}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ArgumentError(
                f"Unknown fact id '{unknown[0][:40]}'; run facts to see the ids, or give 'all'."
            )
        return list(dict.fromkeys(ids))

    def _parse_role(self, text: str) -> str | None:
        raw = self._text(text, "role", limit=40)
        if raw.lower() in _OFF_WORDS or not raw:
            return None
        m = _ROLE.match(raw)
        if not m:
            raise ArgumentError("The mention role must be a role (its id), or 'off' for no mention.")
        return m.group(1) or m.group(2)

    async def unsubscribe(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            if not await self.svc.store.delete_subscription(caller.platform, caller.channel):
                return error_reply(
                    "This channel has no subscription; there was nothing to stop.", title="Not subscribed"
                )
            return Reply(
                title="Unsubscribed",
                body=(
                    "pactwatch will not post here any more. This channel's watches are kept; remove them "
                    "with watch remove.",
                ),
                ephemeral=True,
            )

        return await self._run(caller, body, manage=True)

    async def settings(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            sub = await self.svc.store.get_subscription(caller.platform, caller.channel)
            if sub is None:
                return Reply(
                    title="This channel is not subscribed",
                    body=("Run subscribe to get alerts and digests here.",),
                    ephemeral=True,
                )
            return await self._describe(caller, sub, title="This channel's settings")

        return await self._run(caller, body, channel=True)

    async def _describe(self, caller: Caller, sub: SubscriptionRow, *, title: str) -> Reply:
        watches = await self.svc.store.list_watches(platform=caller.platform, channel=caller.channel)
        digest = f"{describe_cron(sub.digest_cron)} ({sub.timezone})" if sub.digest_cron else "off"
        fields = [
            ReplyField("Alerts", sub.alerts),
            ReplyField("Facts", ", ".join(sub.facts) if sub.facts is not None else "all"),
            ReplyField("Digest", digest),
            ReplyField("Time zone", sub.timezone),
            ReplyField("Mention", f"role {sub.mention_role}" if sub.mention_role else "none"),
            ReplyField("Quiet hours", f"{sub.quiet_start}–{sub.quiet_end}" if sub.quiet_start else "none"),
            ReplyField("Watches", str(len(watches))),
        ]
        body: list[str] = []
        if sub.paused:
            fields.insert(
                0, ReplyField("Paused", sub.paused_reason or "the channel refused the bot", inline=False)
            )
            body.append(
                "Posting here is paused because the channel refused the bot; fix its permissions, "
                "then run resume."
            )
        footer = None
        if sub.origin == "config":
            footer = "Declared in the operator's settings file: changes made here are replaced at restart."
        return Reply(title=title, body=tuple(body), fields=tuple(fields), footer=footer, ephemeral=True)

    async def resume(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            sub = await self.svc.store.get_subscription(caller.platform, caller.channel)
            if sub is None:
                return error_reply(
                    "This channel has no subscription; run subscribe first.", title="Not subscribed"
                )
            if not sub.paused:
                return Reply(
                    title="Not paused", body=("This channel's subscription is running.",), ephemeral=True
                )
            await self.svc.store.set_paused(sub.id, False)
            if self.svc.outbox is not None:
                self.svc.outbox.wake.set()
            return Reply(
                title="Resumed", body=("Held posts for this channel go out again now.",), ephemeral=True
            )

        return await self._run(caller, body, manage=True)

    async def digest_now(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            sub = await self.svc.store.get_subscription(caller.platform, caller.channel)
            if sub is None:
                return error_reply(
                    "This channel has no subscription; run subscribe first.", title="Not subscribed"
                )
            from bot.digest import digest_now

            count = await digest_now(self.svc, sub)
            if self.svc.outbox is not None:
                self.svc.outbox.wake.set()
            if count == 0:
                return Reply(
                    title="Nothing new",
                    body=("No new stories since this channel's last digest.",),
                    ephemeral=True,
                )
            plural = "story" if count == 1 else "stories"
            return Reply(
                title="Digest on its way",
                body=(f"A digest of {count} {plural} is being posted here.",),
                ephemeral=True,
            )

        return await self._run(caller, body, manage=True)

    # --- facts and articles --------------------------------------------------------------------

    async def facts(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            days = self._s.command_recent_days
            counts = await self.svc.store.match_counts(
                kind="fact", since=self._now() - timedelta(days=days), tenant=caller.tenant
            )
            items = tuple(
                ReplyItem(
                    title=f.title,
                    ref=f.id,
                    lines=(f.statement, f"{counts.get(f.id, 0)} matches in {days} days · {f.priority}"),
                )
                for f in self.svc.facts
            )
            return Reply(
                title=f"Key facts ({len(items)})",
                items=items,
                footer="Run fact <id> for a fact's latest stories.",
            )

        return await self._run(caller, body)

    async def fact(self, caller: Caller, fact_id: str) -> Reply:
        async def body() -> Reply:
            fid = self._text(fact_id, "fact id", limit=64)
            fact = next((f for f in self.svc.facts if f.id == fid), None)
            if fact is None:
                return error_reply(
                    f"There is no fact '{fid[:40]}'; run facts to see the ids.", title="Unknown fact"
                )
            found = await self.svc.store.latest_matches(
                kind="fact", ref=fact.id, tenant=caller.tenant, limit=self._s.command_list_max
            )
            items = tuple(
                ReplyItem(title=m.title, url=m.url, lines=(m.source,), evidence=m.evidence, time=m.published)
                for m in found
            )
            lines = (fact.statement,) if found else (fact.statement, "No stored story reports this fact yet.")
            return Reply(
                title=fact.title, body=lines, items=items, footer=f"fact {fact.id} · {fact.priority}"
            )

        return await self._run(caller, body)

    async def why(self, caller: Caller, ref: str) -> Reply:
        async def body() -> Reply:
            raw = self._text(ref, "article link or id", limit=self._s.feed_url_max_chars)
            if _ID.match(raw):
                stored = await self.svc.store.get_article(self._id(raw, "article", "fact <id>"))
            elif raw.lower().startswith(("http://", "https://")):
                stored = await self.svc.store.find_article_by_url(raw)
            else:
                raise ArgumentError("Give an article's link (https://…) or its id number.")
            visible = await self.svc.store.visible_feed_ids(caller.tenant)
            if stored is None or stored.feed_id not in visible:
                return error_reply(
                    "pactwatch has not stored that article; it only knows articles from its feeds, "
                    "by link or id.",
                    title="Unknown article",
                )
            a = stored.article
            facts = {f.id: f for f in self.svc.facts}
            own = (
                {str(w.id): w for w in await self.svc.store.list_watches(tenant=caller.tenant)}
                if caller.tenant
                else {}
            )
            items = [
                ReplyItem(
                    title=a.title, url=a.url, lines=(f"{a.source} · article {stored.id}",), time=a.published
                )
            ]
            relevance: Evidence | None = None
            for kind, hit_ref, ev in await self.svc.store.article_matches(stored.id):
                if kind == "fact" and hit_ref in facts:
                    items.append(ReplyItem(title=f"Fact: {facts[hit_ref].title}", ref=hit_ref, evidence=ev))
                elif kind == "watch" and hit_ref in own:
                    w = own[hit_ref]
                    items.append(ReplyItem(title=f"Watch #{w.id}: {w.label or w.query}", evidence=ev))
                elif kind == "relevance":
                    relevance = ev
            matched = len(items) - 1
            lines = [
                f"Matched {matched} fact{'s' if matched != 1 else ''} or watches."
                if matched
                else "It matched no fact or watch of this server."
            ]
            lines.append(
                "It is North Korea–Russia coverage."
                if stored.relevant
                else "It was not judged North Korea–Russia coverage."
            )
            if relevance is not None:
                items.insert(1, ReplyItem(title="Relevance", evidence=relevance))
            return Reply(title="Why this article matched", body=tuple(lines), items=tuple(items))

        return await self._run(caller, body)

    # --- feeds ---------------------------------------------------------------------------------

    async def feeds_list(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            rows = await self.svc.store.list_feeds(tenant=caller.tenant)
            failing = sum(1 for f in rows if f.failure_count > 0)
            return Reply(
                title=f"Feeds ({len(rows)}, {failing} failing)",
                items=tuple(_feed_item(f) for f in rows),
                footer="Feeds added here can be removed with feeds remove <id>; "
                "the operator's serve every server.",
                ephemeral=True,
            )

        return await self._run(caller, body)

    async def feeds_add(self, caller: Caller, url: str) -> Reply:
        async def body() -> Reply:
            from bot.ingest.netguard import UnsafeURLError, check_feed_url

            raw = self._text(url, "feed URL", limit=self._s.feed_url_max_chars)
            if not raw.lower().startswith(("http://", "https://")):
                raise ArgumentError("Give the feed's full web address, starting with https:// or http://.")
            try:
                clean = check_feed_url(raw, allow_private=self._s.allow_private_networks)
            except UnsafeURLError as exc:
                return error_reply(str(exc), title="Feed refused")
            for f in await self.svc.store.list_feeds(tenant=caller.tenant, enabled_only=False):
                if f.url == clean:
                    whose = "for every server by the operator" if not f.tenant else "for this server"
                    return error_reply(
                        f"That feed is already polled {whose} (feed #{f.id}).", title="Already there"
                    )
            from bot.models import FeedSpec

            row = await self.svc.store.add_chat_feed(
                FeedSpec(url=clean, origin="chat", tenant=caller.tenant),
                self._now(),
                quota=self._s.max_feeds_per_tenant,
            )
            if row is None:
                return error_reply("That feed is already polled for this server.", title="Already there")
            return Reply(
                title="Feed added",
                body=(
                    f"Feed #{row.id} will be polled within a few minutes: {clean}",
                    "Its first poll is stored without alerting, so old items do not flood the channel.",
                ),
                ephemeral=True,
            )

        return await self._run(caller, body, manage=True)

    async def feeds_remove(self, caller: Caller, feed_id: str | int) -> Reply:
        async def body() -> Reply:
            fid = self._id(feed_id, "feed", "feeds list")
            row = await self.svc.store.get_feed(fid)
            if row is None or row.tenant not in ("", caller.tenant):
                return error_reply(
                    f"There is no feed #{fid} here; run feeds list to see the ids.", title="Unknown feed"
                )
            if row.tenant == "":
                return error_reply(
                    f"Feed #{fid} is one of the operator's feeds, which serve every server; "
                    "only the operator can remove it.",
                    title="Operator feed",
                )
            await self.svc.store.remove_feed(fid, tenant=caller.tenant)
            return Reply(
                title="Feed removed", body=(f"Feed #{fid} is no longer polled: {row.url}",), ephemeral=True
            )

        return await self._run(caller, body, manage=True)

    # --- service -------------------------------------------------------------------------------

    async def status(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            st = await self.svc.status()
            fields = [
                ReplyField("Uptime", _duration(int(st.get("uptime_seconds", 0)))),
                ReplyField(
                    "Feeds", f"{st['feeds'] - st['feeds_failing']} healthy, {st['feeds_failing']} failing"
                ),
                ReplyField("Last poll", _iso_age(st.get("last_poll"), self._now())),
                ReplyField("Outbox", f"{st['outbox_depth']} waiting"),
            ]
            body: list[str] = []
            if caller.tenant:
                paused = [
                    s
                    for s in await self.svc.store.list_subscriptions(platform=caller.platform)
                    if s.tenant == caller.tenant and s.paused
                ]
                for s in paused:
                    body.append(
                        f"Paused channel {s.channel}: {s.paused_reason or 'the channel refused the bot'} "
                        "(run resume there once fixed)."
                    )
            return Reply(title="pactwatch status", body=tuple(body), fields=tuple(fields))

        return await self._run(caller, body)

    async def trend(self, caller: Caller, days: int | str = 7) -> Reply:
        async def body() -> Reply:
            try:
                n = int(str(days).strip())
            except ValueError:
                n = -1
            if n not in TREND_DAYS:
                raise ArgumentError("The trend covers 7 or 30 days; give one of those.")
            from bot.digest import trend_png

            png = await trend_png(self.svc, days=n)
            return Reply(
                title=f"Stories per fact per day, last {n} days",
                attachment=Attachment(filename=f"pactwatch-trend-{n}d.png", data=png),
            )

        return await self._run(caller, body)

    async def help(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            prefix = "/pactwatch " if caller.platform == "slack" else "/"
            items = tuple(
                ReplyItem(title=f"{prefix}{name}" + (f" {args}" if args else ""), lines=(what,))
                for name, args, what in COMMANDS
            )
            return Reply(
                title="pactwatch commands",
                body=(
                    "Reading is open to everyone; changing settings needs Manage Server "
                    "(Slack: a workspace admin).",
                ),
                items=items,
                ephemeral=True,
            )

        return await self._run(caller, body)

    # --- autocomplete (no rate limit: it fires on every keystroke; results are scoped) ------------

    async def complete_facts(self, caller: Caller, prefix: str) -> list[Choice]:
        p = prefix.strip().lower()[:100]
        out = [
            Choice(value=f.id, name=_clip(f"{f.id} — {f.title}", 100))
            for f in self.svc.facts
            if p in f.id.lower() or p in f.title.lower()
        ]
        return out[:MAX_CHOICES]

    async def complete_watches(self, caller: Caller, prefix: str) -> list[Choice]:
        if caller.in_dm or not caller.tenant:
            return []
        p = prefix.strip().lstrip("#").lower()[:100]
        rows = await self.svc.store.list_watches(platform=caller.platform, channel=caller.channel)
        out = [
            Choice(value=str(w.id), name=_clip(f"#{w.id} {w.label or w.query}", 100))
            for w in rows
            if not p or p in str(w.id) or p in (w.label or w.query).lower()
        ]
        return out[:MAX_CHOICES]

    async def complete_feeds(
        self, caller: Caller, prefix: str, *, removable_only: bool = True
    ) -> list[Choice]:
        if caller.in_dm or not caller.tenant:
            return []
        p = prefix.strip().lstrip("#").lower()[:100]
        rows = await self.svc.store.list_feeds(tenant=caller.tenant, enabled_only=False)
        out = [
            Choice(value=str(f.id), name=_clip(f"#{f.id} {f.name or f.url}", 100))
            for f in rows
            if (f.tenant or not removable_only)
            and (not p or p in str(f.id) or p in (f.name or f.url).lower())
        ]
        return out[:MAX_CHOICES]


class ArgumentError(ValueError):
    """A command argument the user must fix; ``str()`` is one sentence."""


def _watch_item(w: WatchRow) -> ReplyItem:
    lines = [f"query: {w.query}"] if w.label else []
    lines.append("alerts on" if w.alert else "digest only")
    return ReplyItem(title=w.label or w.query, ref=f"#{w.id}", lines=tuple(lines))


def _feed_item(f: FeedRow) -> ReplyItem:
    lines = ["added here" if f.tenant else "operator feed", f"{f.items_count} items"]
    if not f.enabled:
        lines.append("disabled")
    if f.failure_count:
        lines.append(f"failing ({f.failure_count} in a row): {(f.last_error or 'unknown error')[:200]}")
    elif f.last_success_at is None:
        lines.append("not polled yet")
    return ReplyItem(
        title=f.name or f.url,
        url=f.url,
        ref=f"#{f.id}",
        lines=tuple(x for x in lines if x),
        time=f.last_success_at,
    )


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _iso_age(value: object, now: datetime) -> str:
    if not isinstance(value, str):
        return "not yet"
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    return f"{_duration(max(0, int((now - at).total_seconds())))} ago"
