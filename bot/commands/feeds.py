"""Feed commands: the feeds polled for a server (list, add, remove). Chat-added feeds belong to their
tenant; the operator's feeds (tenant "") serve everyone and cannot be removed from chat."""

from __future__ import annotations

from bot.commands.gate import ArgumentError, Gate, choices
from bot.commands.model import Caller, Choice, Reply, ReplyItem, error_reply
from bot.store.repo import FeedRow


class FeedCommands(Gate):
    """Reading the list is open; adding and removing need ``can_manage``."""

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

            raw = self._text(url, "feed URL", limit=self._cfg.feed_url_max_chars)
            if not raw.lower().startswith(("http://", "https://")):
                raise ArgumentError("Give the feed's full web address, starting with https:// or http://.")
            try:
                clean = check_feed_url(raw, allow_private=self._cfg.allow_private_networks)
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
                quota=self._cfg.max_feeds_per_tenant,
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

    async def complete_feeds(
        self, caller: Caller, prefix: str, *, removable_only: bool = True
    ) -> list[Choice]:
        if caller.in_dm or not caller.tenant:
            return []
        rows = await self.svc.store.list_feeds(tenant=caller.tenant, enabled_only=False)
        return choices(
            prefix,
            ((str(f.id), f"#{f.id} {f.name or f.url}") for f in rows if f.tenant or not removable_only),
        )


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
