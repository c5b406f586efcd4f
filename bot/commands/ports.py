"""What the command layer needs from the running service: a typed port, not the composition root.

``bot.app.Core`` (and so ``Services``) satisfies ``CommandServices`` structurally; the command layer never
imports ``bot.app`` (not even for type checking), so it can be built and tested over anything with these
members.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.digest.windows import Digests
from bot.models import Fact
from bot.poller import MatcherCache
from bot.settings import Settings
from bot.store.repo import Store


class CommandServices(Protocol):
    """Exactly the members of the services object the commands use (read-only)."""

    @property
    def settings(self) -> Settings:
        """Limits the commands enforce (argument lengths, quotas, rate limits, list sizes)."""
        ...

    @property
    def store(self) -> Store:
        """Watches, subscriptions, feeds, articles and their matches."""
        ...

    @property
    def facts(self) -> tuple[Fact, ...]:
        """The fact catalog."""
        ...

    @property
    def matchers(self) -> MatcherCache:
        """Its ``factory`` compiles the ad-hoc matcher of ``watch test``."""
        ...

    @property
    def digests(self) -> Digests:
        """A channel's digest now, and the trend chart."""
        ...

    def wake_outbox(self) -> None:
        """After ``resume``: held posts go out at once instead of at the sender's next interval."""
        ...

    @property
    def clock(self) -> Callable[[], datetime]:
        """The current time (UTC)."""
        ...

    async def status(self) -> dict[str, Any]:
        """Uptime, feed counts, last poll and outbox depth (what ``/healthz`` reports)."""
        ...
