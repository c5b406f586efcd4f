"""The Discord adapter: the REST sink for the outbox and, in ``pactwatch run``, a gateway client whose
slash commands go through the shared command layer. Loaded by the composition root only when
``DISCORD_TOKEN`` is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.adapter import DiscordAdapter

if TYPE_CHECKING:
    from bot.app import Core

__all__ = ["DiscordAdapter", "make_adapter"]


def make_adapter(services: Core, *, live: bool) -> DiscordAdapter:
    """``live=True`` (``run``): gateway client and command tree, started by ``start()``.
    ``live=False`` (``poll --once``): REST delivery only — no gateway, no command sync."""
    return DiscordAdapter(services, live=live)
