"""Digest commands: a channel's digest now, and the trend chart (days in the channel's time zone when it
has a subscription)."""

from __future__ import annotations

from bot.commands.gate import ArgumentError, Gate
from bot.commands.model import Attachment, Caller, Reply
from bot.schedule import zone as check_zone

TREND_DAYS = (7, 30)


class DigestCommands(Gate):
    """``digest now`` needs ``can_manage``; ``trend`` is open."""

    async def digest_now(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            sub = await self._subscription(caller)
            count = await self.svc.digests.now(sub)
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

    async def trend(self, caller: Caller, days: int | str = 7) -> Reply:
        async def body() -> Reply:
            try:
                n = int(str(days).strip())
            except ValueError:
                n = -1
            if n not in TREND_DAYS:
                raise ArgumentError("The trend covers 7 or 30 days; give one of those.")
            sub = await self.svc.store.get_subscription(caller.platform, caller.channel)
            png = await self.svc.digests.trend_png(days=n, zone=check_zone(sub.timezone) if sub else None)
            return Reply(
                title=f"Stories per fact per day, last {n} days",
                attachment=Attachment(filename=f"pactwatch-trend-{n}d.png", data=png),
            )

        return await self._run(caller, body)
