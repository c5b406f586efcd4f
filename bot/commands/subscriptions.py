"""Subscription commands: what a channel receives (subscribe, unsubscribe, settings, resume)."""

from __future__ import annotations

import re
from typing import Any

from bot.commands.gate import ArgumentError, Gate
from bot.commands.model import Caller, Reply, ReplyField, error_reply
from bot.models import AlertsMode
from bot.schedule import check_timezone, describe_cron, parse_digest_schedule, parse_quiet_hours
from bot.store.repo import SubscriptionRow

ALERT_MODES: tuple[AlertsMode, ...] = ("off", "facts", "watches", "all")
_ROLE = re.compile(r"^<?@?&?(\d{1,25})>?$|^([A-Z0-9]{1,32})$")
_OFF_WORDS = ("off", "none", "no")


class SubscriptionCommands(Gate):
    """A channel's subscription: alerts, facts, digest schedule, time zone, mention, quiet hours."""

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
        ``facts``: fact ids separated by commas or spaces, or "all". ``digest``: any form of
        ``bot.schedule`` ("08:00", "weekdays 08:00", "every 6 hours", a crontab) or "off".
        ``mention_role``: a role id, or "off". ``quiet``: "22:00-07:00" or "off"."""

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
            sub = await self._subscription(caller)
            if not sub.paused:
                return Reply(
                    title="Not paused", body=("This channel's subscription is running.",), ephemeral=True
                )
            await self.svc.store.set_paused(sub.id, False)
            self._wake_outbox()
            return Reply(
                title="Resumed", body=("Held posts for this channel go out again now.",), ephemeral=True
            )

        return await self._run(caller, body, manage=True)
