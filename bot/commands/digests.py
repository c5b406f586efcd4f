"""Digest commands: a channel's digest now, and the trend chart.

The only two calls into ``bot.digest`` from the command layer are here (``digest_now``, ``trend_png``).
"""

from __future__ import annotations

from typing import Any

from bot.commands.gate import ArgumentError, Gate
from bot.commands.model import Attachment, Caller, Reply

TREND_DAYS = (7, 30)


class DigestCommands(Gate):
    """``digest now`` needs ``can_manage``; ``trend`` is open."""

    @property
    def _digest_services(self) -> Any:
        # bot.digest's entry points still take the composition root's Services (their rewiring is under
        # way); the command layer holds only the CommandServices port, which is what it passes them.
        return self.svc

    async def digest_now(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            sub = await self._subscription(caller)
            from bot.digest import digest_now

            count = await digest_now(self._digest_services, sub)
            self._wake_outbox()
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
            from bot.digest import trend_png

            png = await trend_png(self._digest_services, days=n)
            return Reply(
                title=f"Stories per fact per day, last {n} days",
                attachment=Attachment(filename=f"pactwatch-trend-{n}d.png", data=png),
            )

        return await self._run(caller, body)
