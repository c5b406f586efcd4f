"""Service commands: ``status`` and ``help``, and the command reference (``COMMANDS``) both adapters
show and register."""

from __future__ import annotations

from datetime import datetime

from bot.commands.gate import Gate
from bot.commands.model import Caller, Reply, ReplyField, ReplyItem

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


class StatusCommands(Gate):
    """Open to everyone."""

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
